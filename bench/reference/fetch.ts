/**
 * Fetch the published reference broker (`@masons/runtime-broker@0.2.36`, MIT) on demand into
 * `out/ref/` (gitignored): `npm pack`, extract, install its own runtime dependencies next to it.
 * Nothing of it is committed or added to our package.json; the bench only imports it from `out/`.
 *
 * Returns the package directory, or a reason why it is not available (offline, npm missing…), so
 * the caller can skip the comparison with a message instead of failing the whole bench.
 */

import { type ExecFileSyncOptions, execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

export const REFERENCE_SPEC = "@masons/runtime-broker@0.2.36";
const TARBALL = "masons-runtime-broker-0.2.36.tgz";

export type FetchResult = { ok: true; dir: string; fetched: boolean } | { ok: false; reason: string };

function isReady(dir: string): boolean {
  return existsSync(join(dir, "dist/broker/broker-daemon.js")) && existsSync(join(dir, "node_modules/ws"));
}

/** The reference if an earlier run fetched it; never touches the network. */
export function cachedReference(outRoot = resolve("out/ref")): FetchResult {
  const dir = join(outRoot, "package");
  if (isReady(dir)) return { ok: true, dir, fetched: false };
  return {
    ok: false,
    reason: `${REFERENCE_SPEC} not fetched yet (quick run; use --ref or --full to fetch it)`,
  };
}

export function fetchReference(outRoot = resolve("out/ref")): FetchResult {
  const dir = join(outRoot, "package");
  const ready = () => isReady(dir);
  if (ready()) return { ok: true, dir, fetched: false };
  try {
    mkdirSync(outRoot, { recursive: true });
    const npm = process.platform === "win32" ? "npm.cmd" : "npm";
    const quiet: ExecFileSyncOptions = { cwd: outRoot, stdio: ["ignore", "pipe", "pipe"], timeout: 120_000 };
    if (!existsSync(join(outRoot, TARBALL))) {
      execFileSync(npm, ["pack", REFERENCE_SPEC, "--pack-destination", outRoot], quiet);
    }
    const tgz = readdirSync(outRoot).find((f) => f.endsWith(".tgz"));
    if (!tgz) return { ok: false, reason: "npm pack produced no tarball" };
    rmSync(dir, { recursive: true, force: true });
    execFileSync("tar", ["xzf", tgz], quiet);
    // Its devDependencies use the `workspace:` protocol npm cannot install; only its runtime
    // dependencies (debug, env-paths, ws) are needed, so the extracted manifest drops the rest.
    const manifestPath = join(dir, "package.json");
    const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as Record<string, unknown>;
    delete manifest.devDependencies;
    delete manifest.scripts;
    writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
    execFileSync(
      npm,
      [
        "install",
        "--prefix",
        dir,
        "--omit=dev",
        "--ignore-scripts",
        "--no-audit",
        "--no-fund",
        "--no-package-lock",
      ],
      quiet,
    );
    return ready() ? { ok: true, dir, fetched: true } : { ok: false, reason: "install left no ws module" };
  } catch (err) {
    const e = err as { message?: string; stderr?: Buffer };
    const detail = e.stderr?.toString().trim().split("\n").slice(-2).join(" ") || e.message || String(err);
    return { ok: false, reason: `could not fetch ${REFERENCE_SPEC}: ${detail}` };
  }
}
