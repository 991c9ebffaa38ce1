/**
 * A Stryker ignore-plugin ("mutation-sample") that keeps the mutation test to the seeded sample
 * written by scripts/mutation/sample.ts (MUTATION_SAMPLE_FILE, default sample.json in
 * MUTATION_OUT_DIR, default out/mutation).
 *
 * The sample's `mutate` ranges already restrict Stryker to the sampled sites and what lies inside
 * them; this ignorer drops the nodes strictly inside a sampled site, unless a sampled site lies
 * inside that node (then it must be walked, and its own mutants run: the sample lists them as
 * `nested`). Stryker reports the dropped mutants as Ignored and does not run them.
 */

import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { declareValuePlugin, PluginKind } from "@stryker-mutator/api/plugin";

const sampleFile =
  process.env.MUTATION_SAMPLE_FILE || `${process.env.MUTATION_OUT_DIR || "out/mutation"}/sample.json`;
const sample = JSON.parse(readFileSync(sampleFile, "utf8"));

/** Sampled sites by file: [startLine, startColumn, endLine, endColumn] (1-based lines). */
const sitesByFile = new Map();
for (const m of sample.sampled) {
  const sites = sitesByFile.get(m.file) ?? [];
  sites.push([m.start.line, m.start.column, m.end.line, m.end.column]);
  sitesByFile.set(m.file, sites);
}

function before(l1, c1, l2, c2) {
  return l1 < l2 || (l1 === l2 && c1 <= c2);
}
function includes(outer, inner) {
  return before(outer[0], outer[1], inner[0], inner[1]) && before(inner[2], inner[3], outer[2], outer[3]);
}
function same(a, b) {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3];
}

export const strykerPlugins = [
  declareValuePlugin(PluginKind.Ignore, "mutation-sample", {
    shouldIgnore(path) {
      const loc = path.node.loc;
      const fileName = path.hub?.file?.opts?.filename;
      if (!loc || typeof fileName !== "string") return undefined;
      const sites = sitesByFile.get(relative(process.cwd(), fileName).split("\\").join("/"));
      if (!sites) return undefined;
      const span = [loc.start.line, loc.start.column, loc.end.line, loc.end.column];
      const insideASite = sites.some((s) => includes(s, span) && !same(s, span));
      if (!insideASite) return undefined;
      if (sites.some((s) => includes(span, s))) return undefined;
      return "not in the mutation sample";
    },
  }),
];
