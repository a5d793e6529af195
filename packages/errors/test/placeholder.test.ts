import { assert, it } from "@effect/vitest"
import { Effect } from "effect"
import { placeholder } from "../src/index.js"

it.effect("placeholder", () => Effect.sync(() => assert.strictEqual(placeholder, 1)))
