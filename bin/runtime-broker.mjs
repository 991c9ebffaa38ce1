#!/usr/bin/env node
// Package bin `runtime-broker`: the installed package runs its compiled JavaScript (dist/). A source
// checkout of the repository has no build, so there it loads the TypeScript CLI through tsx. Either
// way the CLI runs in this very process: SIGINT/SIGTERM reach the broker's own handlers directly,
// with no intermediate process to relay (or mistranslate) them.
import { existsSync } from "node:fs";

const source = new URL("../src/daemon/cli.ts", import.meta.url);
if (existsSync(source)) {
  const { register } = await import("tsx/esm/api");
  register();
  await import(source.href);
} else {
  await import(new URL("../dist/src/daemon/cli.js", import.meta.url).href);
}
