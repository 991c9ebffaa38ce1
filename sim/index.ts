/**
 * `broker-sim/sim`: the deterministic simulation harness as a library. Run a registered scenario
 * or your own (`runScenario(scenario, seed, options)`), shrink a failing run to a repro file and
 * replay it, and write your own scenarios, fault modules and checkers against the interfaces below.
 * Same scenario + seed + code ⇒ same report and trace hash.
 *
 * Targets — the system a run puts under test (today always this package's own `BrokerCore`) — get
 * their interface and exports here, next to scenarios, faults and checkers, once the simulator
 * has one.
 */

// Running scenarios.
export { faultKindsFired, type RunOptions, type RunReport, runScenario } from "./run.ts";
export { SCENARIOS, scenarioByName } from "./scenarios/index.ts";
export {
  EXIT_COVERAGE,
  EXIT_LIVENESS,
  EXIT_NONDETERMINISM,
  EXIT_PASS,
  EXIT_SAFETY,
  EXIT_USAGE,
  main as runnerMain,
  rerunLine,
} from "./runner.ts";
export { RUNNER_COMMAND, REPLAY_COMMAND } from "./rerun.ts";

// Shrinking and replaying.
export {
  DEFAULT_SHRINK_BUDGET_MS,
  NotFailingError,
  type ShrinkOptions,
  type ShrinkResult,
  shrinkRun,
} from "./shrink/shrink.ts";
export type { ReproSize, ReproSpec } from "./shrink/repro.ts";
export type { SetupEdits } from "./shrink/setup.ts";
export {
  type ReplayOutcome,
  type ReproFile,
  ReproFileError,
  readReproFile,
  replayReproFile,
  reproFileFrom,
  writeReproFile,
} from "./shrink/repro-file.ts";

// Writing scenarios.
export {
  type BuildContext,
  DEFAULT_LIVENESS_BUDGET_MS,
  type Scenario,
  type ScenarioSetup,
  type WorldSetup,
} from "./scenarios/scenario.ts";
export { type CastOptions, DEFAULT_SETTLE_MS, standardPlugins, standardSetup } from "./scenarios/base.ts";
export { DEFAULT_WORKLOAD, scheduleWorkload, type WorkloadOptions } from "./scenarios/workload.ts";
export {
  DEFAULT_PLUGIN_BEHAVIOUR,
  type EndpointSpec,
  type PluginBehaviour,
  type PluginSpec,
} from "./actors/plugin.ts";
export type { World, WorldConfig } from "./kernel/world.ts";
export type { Stream, Streams } from "./kernel/prng.ts";

// Faults.
export {
  FAULT_NAMES,
  FAULTS,
  type FaultHandle,
  type FaultModule,
  type FaultName,
  type FaultOptions,
  type FaultPlan,
  faultByName,
} from "./faults/index.ts";

// Targets: the target interface (sim/targets/) and its implementations are exported here, next
// to scenarios, faults and checkers, when the simulator gets one.

// Checkers (one per invariant).
export {
  type CheckerDef,
  type CheckerInstance,
  defineChecker,
  type Finding,
  type InvariantKind,
  type Violation,
} from "./checkers/checker.ts";
export { ALL_CHECKERS, checkerById, SAFETY_CHECKERS } from "./checkers/index.ts";
export type { Fact, SimEvent } from "./kernel/events.ts";
export type { View } from "./checkers/view.ts";
