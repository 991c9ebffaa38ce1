#!/usr/bin/env node
// Package bin: loads the TypeScript CLI in this very process through tsx's loader (the project
// ships sources, not a build). In-process on purpose: SIGINT/SIGTERM reach the broker's own
// handlers directly, with no intermediate process to relay (or mistranslate) them.
import { register } from "tsx/esm/api";

register();
await import("../src/daemon/cli.ts");
