import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import { conditionSource, evaluateCondition, isTruthy } from "../../src/templates/condition.js"
import { compileTemplate } from "../../src/templates/Template.js"

const evaluate = (when: string, row: Record<string, unknown>) => {
  const compiled = compileTemplate(conditionSource(when))
  if (Result.isFailure(compiled)) throw new Error(compiled.failure.message)
  return evaluateCondition(compiled.success, row)
}

describe("conditions", () => {
  it("a bare expression and a {{ }} template mean the same", () => {
    assert.strictEqual(conditionSource("rating < 3"), "{{ rating < 3 }}")
    assert.strictEqual(conditionSource("{{ rating < 3 }}"), "{{ rating < 3 }}")
    for (const when of ["rating < 3", "{{ rating < 3 }}"]) {
      assert.deepStrictEqual(evaluate(when, { rating: 2 }), Result.succeed(true))
      assert.deepStrictEqual(evaluate(when, { rating: 4 }), Result.succeed(false))
    }
  })

  it("empty, false, 0, none, null and undefined are false; anything else is true", () => {
    for (const text of ["", "  ", "false", "False", "0", "none", "None", "null", "undefined"]) {
      assert.isFalse(isTruthy(text), JSON.stringify(text))
    }
    for (const text of ["true", "1", "yes", "no", "0.5", "anything"]) assert.isTrue(isTruthy(text), text)
    assert.deepStrictEqual(evaluate("missing", {}), Result.succeed(false))
    assert.deepStrictEqual(evaluate("'tent' in product", { product: "camping tent" }), Result.succeed(true))
  })
})
