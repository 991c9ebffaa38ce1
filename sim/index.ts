/**
 * `broker-sim/sim`: the deterministic simulation harness as a library. Run a registered scenario
 * or your own (`runScenario(scenario, seed, options)`), shrink a failing run to a repro file and
 * replay it, and write your own scenarios, fault modules and checkers against the interfaces below.
 * Same scenario + seed + code ⇒ same report and trace hash.
 *
 * A target is the broker a run puts under test: this package's reference `BrokerCore` (the
 * default), the published 0.2.36 daemon (`--target published`, needs `@masons/runtime-broker`
 * 0.2.36 installed beside this package), or your own behind the `TargetKind` interface
 * (docs/targets.md).
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

// Targets: the broker under test.
export type { Capability, Target, TargetKind, TargetRun, TargetStart } from "./targets/target.ts";
export {
  applicableCheckers,
  CHECKER_NEEDS,
  DEFAULT_TARGET,
  missingCapabilities,
  TARGETS,
  targetByName,
  targetOrThrow,
  UnknownTargetError,
} from "./targets/index.ts";
export { REFERENCE_TARGET } from "./targets/reference.ts";
export { PUBLISHED_TARGET } from "./targets/published.ts";

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
