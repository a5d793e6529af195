import { assert, describe, it } from "@effect/vitest"
import { Ajv } from "ajv"
import { Ajv2020 } from "ajv/dist/2020.js"
import { Effect, Random } from "effect"
import { jsonSchemaInstance } from "../src/jsonSchemaInstance.js"

const ajv = new Ajv({ strict: false, validateFormats: false })
// `prefixItems` is draft 2020-12
const ajv2020 = new Ajv2020({ strict: false, validateFormats: false })

const schemas: Record<string, object> = {
  verdict: {
    type: "object",
    properties: {
      verdict: { type: "string", enum: ["positive", "neutral", "negative"] },
      score: { type: "integer", minimum: 1, maximum: 5 },
      confidence: { type: "number", minimum: 0, maximum: 1 },
      reasons: { type: "array", items: { type: "string", minLength: 3, maxLength: 12 }, minItems: 2, maxItems: 4 },
      flagged: { type: "boolean" }
    },
    required: ["verdict", "score", "reasons"],
    additionalProperties: false
  },
  nested: {
    type: "object",
    properties: {
      product: {
        type: "object",
        properties: {
          name: { type: "string", minLength: 20 },
          price: { type: "number", exclusiveMinimum: 0, exclusiveMaximum: 1, multipleOf: 0.05 },
          tags: { type: "array", items: { enum: ["a", "b", "c"] }, minItems: 3, uniqueItems: true }
        },
        required: ["name", "price", "tags"]
      },
      nullable: { anyOf: [{ type: "integer", minimum: 10, maximum: 10 }, { type: "null" }] },
      either: { oneOf: [{ type: "string", maxLength: 2 }, { type: "number" }] },
      fixed: { const: "v1" },
      typeList: { type: ["null", "integer"], exclusiveMinimum: 3, exclusiveMaximum: 5 },
      evens: { type: "array", items: { type: "integer", multipleOf: 2, minimum: -7, maximum: 7 }, minItems: 5 }
    },
    required: ["product", "nullable", "either", "fixed", "typeList", "evens"]
  },
  combined: {
    allOf: [
      { type: "object", properties: { a: { type: "string" } }, required: ["a"] },
      { properties: { b: { type: "integer", maximum: -100 } }, required: ["b"] }
    ]
  },
  formats: {
    type: "object",
    properties: {
      when: { type: "string", format: "date-time" },
      day: { type: "string", format: "date" },
      mail: { type: "string", format: "email" },
      id: { type: "string", format: "uuid" },
      short: { type: "string", maxLength: 0 }
    },
    required: ["when", "day", "mail", "id", "short"]
  },
  tuple: { type: "array", prefixItems: [{ type: "string" }, { type: "integer" }], items: false },
  tupleDraft7: { type: "array", items: [{ type: "boolean" }, { type: "null" }], additionalItems: false, minItems: 2 },
  scalar: { type: "string", minLength: 5, maxLength: 5 }
}

describe("jsonSchemaInstance", () => {
  for (const [name, schema] of Object.entries(schemas)) {
    it.effect(`${name}: instances validate for many seeds`, () =>
      Effect.gen(function*() {
        const validate = name === "tuple" ? ajv2020.compile(schema) : ajv.compile(schema)
        for (let seed = 0; seed < 50; seed++) {
          const draws = yield* Random.Random.pipe(Random.withSeed(seed))
          const instance = jsonSchemaInstance(schema, draws)
          assert.isTrue(
            validate(instance),
            `seed ${seed}: ${JSON.stringify(instance)} ${ajv.errorsText(validate.errors)}`
          )
        }
      }))
  }

  it.effect("every declared property is present, and the same seed gives the same instance", () =>
    Effect.gen(function*() {
      const a = jsonSchemaInstance(schemas.verdict, yield* Random.Random.pipe(Random.withSeed(3)))
      const b = jsonSchemaInstance(schemas.verdict, yield* Random.Random.pipe(Random.withSeed(3)))
      assert.deepStrictEqual(a, b)
      assert.sameMembers(Object.keys(a as object), ["verdict", "score", "confidence", "reasons", "flagged"])
    }))
})
