/** The scenario registry: every scenario the runner knows, by name. */

import { happyPath } from "./happy-path.ts";
import type { Scenario } from "./scenario.ts";

export const SCENARIOS: Scenario[] = [happyPath];

export function scenarioByName(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}
