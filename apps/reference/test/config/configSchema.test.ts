import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { readdirSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { parse } from "yaml"
import { configJsonSchemaText } from "../../src/config/configJsonSchema.js"
import { configReference } from "../../src/config/configReference.js"
import { resolveConfig } from "../fixtures/resolveConfig.js"

const appFile = (name: string) => new URL(`../../${name}`, import.meta.url)
const examplesDir = new URL("../../../../examples/", import.meta.url)

// dprint aligns Markdown tables; compare the cells, not the padding.
const normalizeTables = (markdown: string): string =>
  markdown
    .split("\n")
    .map((line) =>
      line.startsWith("|")
        ? line.split(/(?<!\\)\|/).map((cell) => (/^\s*-+\s*$/.test(cell) ? "---" : cell.trim())).join("|")
        : line.trimEnd()
    )
    .join("\n")
    .trim()

describe("the config's JSON Schema and reference", () => {
  it("sluice.schema.json is what `sluice schema` prints (regenerate: pnpm sluice schema > apps/reference/sluice.schema.json)", () => {
    assert.strictEqual(readFileSync(appFile("sluice.schema.json"), "utf8"), configJsonSchemaText())
  })

  it("the README's config reference is what `sluice schema --reference` prints", () => {
    const readme = readFileSync(appFile("README.md"), "utf8")
    const block = /<!-- config-reference:start -->\n([\s\S]*?)<!-- config-reference:end -->/.exec(readme)?.[1]
    assert.isDefined(block)
    assert.strictEqual(normalizeTables(block!), normalizeTables(configReference()))
  })

  it("documents every key of the schema: each has a description", () => {
    const missing: Array<string> = []
    const visit = (node: unknown, path: string): void => {
      if (Array.isArray(node)) return node.forEach((item) => visit(item, path))
      if (typeof node !== "object" || node === null) return
      const record = node as Record<string, unknown>
      const properties = record["properties"]
      if (typeof properties === "object" && properties !== null) {
        for (const [key, value] of Object.entries(properties)) {
          if (typeof (value as Record<string, unknown>)["description"] !== "string") missing.push(`${path}.${key}`)
          visit(value, `${path}.${key}`)
        }
      }
      for (const key of ["items", "anyOf", "oneOf", "additionalProperties"]) visit(record[key], path)
    }
    visit(JSON.parse(configJsonSchemaText()), "")
    assert.deepStrictEqual([...new Set(missing)], [])
  })

  it.effect("every example config points editors at the schema and is valid", () =>
    Effect.gen(function*() {
      const examples = readdirSync(examplesDir).filter((file) => file.endsWith(".yaml"))
      assert.isAbove(examples.length, 0)
      for (const file of examples) {
        const text = readFileSync(new URL(file, examplesDir), "utf8")
        assert.isTrue(
          text.startsWith("# yaml-language-server: $schema=../apps/reference/sluice.schema.json\n"),
          `${file} starts with the schema line`
        )
        yield* resolveConfig(fileURLToPath(new URL(file, examplesDir)), parse(text))
      }
    }))
})
