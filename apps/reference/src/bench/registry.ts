import type { Scenario } from "./Scenario.js"
import { hiddenCapacity } from "./scenarios/hiddenCapacity.js"
import { pressure725 } from "./scenarios/pressure725.js"

/** Every `sluice bench` scenario, in the order `all` runs them. */
export const scenarios: ReadonlyArray<Scenario> = [
  pressure725,
  hiddenCapacity
]

export const scenarioNames = scenarios.map((s) => s.name)
