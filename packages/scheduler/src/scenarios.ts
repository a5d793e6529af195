/**
 * `@sluice/scheduler/scenarios`: deterministic virtual-time scenarios (the anchor's benchmarks), for tests and
 * the benchmark harness.
 *
 * @since 0.1.0
 */
export { heavyRoot, type HeavyRootOptions, type HeavyRootReport } from "./scenarios/heavyRoot.js"
export { pressure725, type Pressure725Options, type Pressure725Report } from "./scenarios/pressure725.js"
export { percentile, runVirtual } from "./scenarios/virtualTime.js"
