/**
 * The published reference broker (`@masons/runtime-broker@0.2.36`, MIT) is a devDependency, so
 * `npm ci` installs it; this finds its package directory from the resolved package main (its
 * daemon modules are not in the exports map, so they are loaded by path from there).
 *
 * Returns the directory, or the reason it is unusable (not installed, another version), so the
 * caller can skip the comparison with a message instead of failing the whole bench.
 */

import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

export const REFERENCE_NAME = "@masons/runtime-broker";
export const REFERENCE_VERSION = "0.2.36";
export const REFERENCE_SPEC = `${REFERENCE_NAME}@${REFERENCE_VERSION}`;

export type ReferenceResult = { ok: true; dir: string } | { ok: false; reason: string };

export function referencePackage(): ReferenceResult {
  let main: string;
  try {
    main = createRequire(import.meta.url).resolve(REFERENCE_NAME);
  } catch {
    return { ok: false, reason: `${REFERENCE_SPEC} is not installed (run npm ci)` };
  }
  const dir = main.replace(/[/\\]dist[/\\]broker-client[/\\]broker-client\.js$/, "");
  if (dir === main || !existsSync(join(dir, "dist/broker/broker-daemon.js"))) {
    return { ok: false, reason: `${REFERENCE_NAME} at ${main} does not have the expected layout` };
  }
  const version = (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { version?: string })
    .version;
  if (version !== REFERENCE_VERSION) {
    return {
      ok: false,
      reason: `${REFERENCE_NAME} ${version} is installed, the bench compares ${REFERENCE_VERSION}`,
    };
  }
  return { ok: true, dir };
}
