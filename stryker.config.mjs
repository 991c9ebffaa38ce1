/**
 * StrykerJS configuration of the mutation test (`npm run mutation`, see README › Mutation score).
 * The simulation alone is the test: the command is the seed-major kill sweep; no unit test runs.
 * Mutants: the seeded sample of scripts/mutation/sample.ts (its `mutate` sites, narrowed by the
 * "mutation-sample" ignorer). Reports and Stryker's sandbox live under the gitignored out/.
 */

import { readFileSync } from "node:fs";

/** Where the sample is read and the reports go (MUTATION_OUT_DIR, default out/mutation). */
const outDir = process.env.MUTATION_OUT_DIR || "out/mutation";
const sampleFile = process.env.MUTATION_SAMPLE_FILE || `${outDir}/sample.json`;
const sample = JSON.parse(readFileSync(sampleFile, "utf8"));

export default {
  testRunner: "command",
  commandRunner: { command: "node --import tsx scripts/mutation/kill-sweep.ts" },
  mutate: sample.mutate,
  appendPlugins: ["./scripts/mutation/sample-ignorer.mjs"],
  ignorers: ["mutation-sample"],
  concurrency: 1,
  reporters: ["json", "html", "progress-append-only"],
  jsonReporter: { fileName: `${outDir}/report.json` },
  htmlReporter: { fileName: `${outDir}/report.html` },
  tempDirName: `${outDir}/.stryker-tmp`,
  ignorePatterns: ["out", "dist", "bench", "test", "docs", ".github"],
  // Only a backstop: the kill sweep stops a hanging mutant by its CPU budget, which a busy machine
  // does not shrink; a wall-clock timeout near the dry run's time turns survivors into timeouts.
  timeoutFactor: 4,
  timeoutMS: 300000,
  cleanTempDir: true,
};
