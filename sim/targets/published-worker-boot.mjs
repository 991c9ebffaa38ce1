// Entry of the published target's worker thread. From the installed package it loads the compiled
// worker; in a source checkout it registers tsx's loader in this thread first (Node 20 does not
// apply a parent's --import hooks to a worker's entry) and loads the TypeScript worker.
import { existsSync } from "node:fs";

const compiled = new URL("./published-worker.js", import.meta.url);
if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("./published-worker.ts");
}
