/**
 * The package as a user gets it: `npm pack`, the tarball installed into a scratch project in a
 * fresh temporary directory (with vitest, typescript and @types/node, no tsx), then every entry
 * point imported from plain Node and from vitest, a consumer file and the samples of
 * docs/embedding.md type-checked under --strict, the samples run, the bins run, and the rerun
 * lines the harness prints run in the scratch project and reproduce their failures there.
 */

import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONSUMER_TS, CONSUMER_VITEST, EXPORTS_MJS, FAILING_SIM_TEST } from "./consumer-files.ts";

const ROOT = join(import.meta.dirname, "..", "..");
const SETUP_TIMEOUT_MS = 300_000;

let scratch = "";
let packed: { filename: string; files: Array<{ path: string }> } | undefined;

/** The environment of a command run in the scratch project: none of this run's vitest or npm state. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith("VITEST") || k === "NODE_OPTIONS" || k.startsWith("npm_") || k === "TEST") continue;
    env[k] = v;
  }
  return { ...env, CI: "1", NO_COLOR: "1", ...extra };
}

interface Ran {
  status: number | null;
  out: string;
}

/** Run a shell command line in the scratch project (as a user pastes it). */
function sh(line: string, env: Record<string, string> = {}): Ran {
  const r = spawnSync("sh", ["-c", line], {
    cwd: scratch,
    env: cleanEnv(env),
    encoding: "utf8",
    timeout: 180_000,
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

function versionOf(pkg: string): string {
  const json = JSON.parse(readFileSync(join(ROOT, "node_modules", pkg, "package.json"), "utf8")) as {
    version: string;
  };
  return json.version;
}

function write(rel: string, text: string): void {
  const path = join(scratch, rel);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

/** The ```ts file=NAME blocks of a markdown file. */
function samples(markdown: string): Array<{ file: string; code: string }> {
  const out: Array<{ file: string; code: string }> = [];
  for (const m of markdown.matchAll(/```ts file=(\S+)\n([\s\S]*?)```/g))
    out.push({ file: m[1]!, code: m[2]! });
  return out;
}

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), "broker-sim-consumer-"));
  execFileSync("npm", ["run", "build"], { cwd: ROOT, env: cleanEnv(), stdio: "pipe" });
  const json = execFileSync("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", scratch], {
    cwd: ROOT,
    env: cleanEnv(),
    encoding: "utf8",
  });
  packed = (JSON.parse(json) as Array<typeof packed>)[0];
  const lockedVite = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { overrides?: object })
    .overrides;
  write(
    "package.json",
    `${JSON.stringify({ name: "consumer", private: true, type: "module", overrides: lockedVite ?? {} }, null, 2)}\n`,
  );
  const deps = [
    `./${packed!.filename}`,
    `vitest@${versionOf("vitest")}`,
    `typescript@${versionOf("typescript")}`,
    `@types/node@${versionOf("@types/node")}`,
  ];
  const installed = sh(
    `npm install --no-audit --no-fund --prefer-offline --loglevel=error ${deps.join(" ")}`,
  );
  if (installed.status !== 0) throw new Error(`npm install failed:\n${installed.out}`);
}, SETUP_TIMEOUT_MS);

afterAll(() => {
  if (scratch !== "") rmSync(scratch, { recursive: true, force: true });
});

describe("the packed package", () => {
  it("ships the build, the bins and the docs, and no sources, tests, benchmarks, CI or lint config", () => {
    const files = packed!.files.map((f) => f.path);
    for (const f of [
      "package.json",
      "README.md",
      "bin/broker-sim.mjs",
      "bin/runtime-broker.mjs",
      "dist/src/index.js",
      "dist/src/index.d.ts",
      "dist/src/index.js.map",
      "dist/src/core.js",
      "dist/sim/index.js",
      "dist/sim/vitest.js",
      "dist/sim/stub/index.js",
      "dist/sim/cli.js",
      "docs/protocol.md",
      "docs/embedding.md",
    ])
      expect(files).toContain(f);
    const stray = files.filter(
      (f) =>
        /^(test|bench|\.ci|scripts|out)\//.test(f) ||
        /^(biome\.json|tsconfig.*\.json|vitest\.config\.ts|package-lock\.json)$/.test(f) ||
        (f.endsWith(".ts") && !f.endsWith(".d.ts")),
    );
    expect(stray).toEqual([]);
    const manifest = JSON.parse(
      readFileSync(join(scratch, "node_modules/broker-sim/package.json"), "utf8"),
    ) as {
      private?: boolean;
      version: string;
    };
    expect(manifest.private).toBeUndefined();
    expect(manifest.version).toMatch(/^\d+\.\d+\.\d+$/);
    // The bins must not need tsx, and the scratch project does not have it.
    expect(existsSync(join(scratch, "node_modules/tsx"))).toBe(false);
  });

  it("loads every export in plain Node", () => {
    write("exports.mjs", EXPORTS_MJS);
    const r = sh("node exports.mjs");
    expect(r.out).toContain("all exports loaded");
    expect(r.status).toBe(0);
  });

  it("loads every export from vitest, and a passing simTest passes", () => {
    write("test/exports.test.ts", CONSUMER_VITEST);
    const r = sh("npx vitest run test/exports.test.ts");
    expect(r.out).toMatch(/Tests\s+3 passed/);
    expect(r.status).toBe(0);
  });

  it("type-checks a consumer and the docs samples under --strict, exactOptionalPropertyTypes, library declarations included", () => {
    write("src/consumer.ts", CONSUMER_TS);
    const md = readFileSync(join(scratch, "node_modules/broker-sim/docs/embedding.md"), "utf8");
    const all = samples(md);
    expect(all.map((s) => s.file).sort()).toEqual([
      "broker.sim.test.ts",
      "drive-core.ts",
      "embed-daemon.ts",
      "seeded-stub.ts",
    ]);
    for (const s of all) write(`docs-samples/${s.file}`, s.code);
    // One compile for both (it is the slow part): nodenext, every strictness flag, .d.ts checked too.
    const r = sh(
      "npx tsc --strict --exactOptionalPropertyTypes --noUncheckedIndexedAccess --skipLibCheck false " +
        "--module nodenext --moduleResolution nodenext --target es2022 --types node --outDir js src/consumer.ts docs-samples/*.ts",
    );
    expect(r.out).toBe("");
    expect(r.status).toBe(0);
  });

  it("type-checks the consumer with bundler resolution", () => {
    const r = sh(
      "npx tsc --strict --exactOptionalPropertyTypes --skipLibCheck --noEmit --module esnext --moduleResolution bundler " +
        "--target es2022 --types node src/consumer.ts",
    );
    expect(r.out).toBe("");
    expect(r.status).toBe(0);
  });

  it("type-checks the consumer under the options `tsc --init` writes", () => {
    mkdirSync(join(scratch, "init"), { recursive: true });
    writeFileSync(join(scratch, "init/consumer.ts"), CONSUMER_TS);
    expect(sh("cd init && npx tsc --init").status).toBe(0);
    const r = sh("cd init && npx tsc -p . --noEmit --types node");
    expect(r.out).toBe("");
    expect(r.status).toBe(0);
  });

  it("runs every sample of docs/embedding.md", () => {
    for (const p of ["embed-daemon", "drive-core", "seeded-stub"]) {
      const r = sh(`node js/docs-samples/${p}.js`);
      expect(r.status, `${p}:\n${r.out}`).toBe(0);
    }
    const test = sh("npx vitest run docs-samples/broker.sim.test.ts");
    expect(test.out).toMatch(/Tests\s+2 passed/);
    expect(test.status).toBe(0);
  });

  it("runs the bins without tsx: help texts and one seeded run", () => {
    const help = sh("npx broker-sim --help");
    expect(help.out).toContain("usage: broker-sim <command>");
    expect(help.status).toBe(0);
    const simHelp = sh("npx broker-sim sim --help");
    expect(simHelp.out).toContain("usage: npx broker-sim sim [options]");
    const daemonHelp = sh("npx runtime-broker --help");
    expect(daemonHelp.out).toContain("usage: runtime-broker");
    expect(daemonHelp.status).toBe(0);
    const run = sh("npx broker-sim sim --scenario happy-path --seed 7");
    expect(run.out).toContain("ok: 1 runs (happy-path; seeds 7)");
    expect(run.status).toBe(0);
  });

  it("prints CLI rerun and replay lines that reproduce the failure in the user's repository", () => {
    const failed = sh(
      "npx broker-sim sim --scenario happy-path --seed 1 --plant ackBeforeHandoff --no-export",
    );
    expect(failed.status).toBe(1);
    const rerun = /rerun: (.*)/.exec(failed.out)![1]!;
    expect(rerun).toBe("npx broker-sim sim --scenario happy-path --seed 1 --plant ackBeforeHandoff");
    const again = sh(rerun);
    expect(again.status).toBe(1);
    expect(again.out).toContain("FAIL happy-path seed 1: S1 (safety)");
    const shrunk = sh(`${rerun} --shrink`);
    const replay = /rerun: (npx broker-sim replay .*)/.exec(shrunk.out)![1]!;
    const replayed = sh(replay);
    expect(replayed.out).toContain("reproduced: breaks S1, as recorded");
    expect(replayed.status).toBe(1);
  });

  it("fails a simTest with a rerun line and a repro that reproduce it through the user's own vitest", () => {
    write("test/adapter.test.ts", FAILING_SIM_TEST);
    const failed = sh("npx vitest run test/adapter.test.ts");
    expect(failed.status).toBe(1);
    expect(failed.out).toContain("adapter-day seed 1 failed S1 (safety)");
    const rerun = /rerun: (BROKER_SIM_SEED=.*)/.exec(failed.out)![1]!;
    expect(rerun).toBe(
      "BROKER_SIM_SEED=1 npx vitest run test/adapter.test.ts -t 'an adapter'\\''s day survives'",
    );
    const again = sh(rerun);
    expect(again.status).toBe(1);
    expect(again.out).toContain("adapter-day seed 1 failed S1 (safety)");
    expect(again.out).toMatch(/Tests\s+1 failed \| 1 skipped/);
    const replay = /replay: (BROKER_SIM_REPLAY=.*)/.exec(failed.out)![1]!;
    const file = /out\/sim-test\/repros\/adapter-day-ackBeforeHandoff-seed1-S1-[0-9a-f]{8}\.json/.exec(
      replay,
    )?.[0];
    expect(file).toBeDefined();
    const replayed = sh(replay);
    expect(replayed.status).toBe(1);
    expect(replayed.out).toContain(`(replay of ${file})`);
  });
});
