import type { Scenario } from "./Scenario.js"
import { coolingProvider } from "./scenarios/coolingProvider.js"
import { dagShapes } from "./scenarios/dagShapes.js"
import { heavyRoot } from "./scenarios/heavyRoot.js"
import { hiddenCapacity } from "./scenarios/hiddenCapacity.js"
import { peers } from "./scenarios/peers.js"
import { pressure725 } from "./scenarios/pressure725.js"
import { scale } from "./scenarios/scale.js"
import { scaleout } from "./scenarios/scaleout.js"

/** Every `pnpm bench` scenario, in the order `all` runs them (`scaleout` by name only). */
export const scenarios: ReadonlyArray<Scenario> = [
  pressure725,
  heavyRoot,
  hiddenCapacity,
  coolingProvider,
  dagShapes,
  scale,
  peers,
  scaleout
]

export const scenarioNames = scenarios.map((s) => s.name)
