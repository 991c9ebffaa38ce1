#!/usr/bin/env node
// Package bin `broker-sim`: the installed package runs its compiled JavaScript (dist/). A source
// checkout of the repository has no build, so there it loads the TypeScript entry through tsx.
import { existsSync } from "node:fs";

const source = new URL("../sim/cli.ts", import.meta.url);
const entry = existsSync(source)
  ? await import("tsx/esm/api").then(({ register }) => (register(), source.href))
  : new URL("../dist/sim/cli.js", import.meta.url).href;
const { run } = await import(entry);
await run(process.argv.slice(2));
