import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

/**
 * `npm run test:package` (a step of .ci/run after `npm test`): the consumer test packs the
 * package and installs it into a scratch project, which takes minutes rather than seconds, so it
 * runs on its own rather than inside `npm test`.
 */
export default defineConfig({
  root: fileURLToPath(new URL("../..", import.meta.url)),
  test: {
    include: ["test/package/**/*.package-test.ts"],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: "forks",
  },
});
