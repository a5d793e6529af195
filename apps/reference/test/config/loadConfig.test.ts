import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, FileSystem } from "effect"
import { loadConfig } from "../../src/config/loadConfig.js"

const withFile = (name: string, text: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const dir = yield* fs.makeTempDirectoryScoped()
    const file = `${dir}/${name}`
    yield* fs.writeFileString(file, text)
    return file
  })

describe("loadConfig", () => {
  it.effect("reads YAML and JSON", () =>
    Effect.gen(function*() {
      const yaml = yield* withFile(
        "c.yaml",
        [
          "providers:",
          "  - { name: local, type: mock }",
          "columns:",
          "  - { name: id, type: uuid }"
        ].join("\n")
      )
      const fromYaml = yield* loadConfig(yaml)
      const json = yield* withFile(
        "c.json",
        JSON.stringify({
          providers: [{ name: "local", type: "mock" }],
          columns: [{ name: "id", type: "uuid" }]
        })
      )
      const fromJson = yield* loadConfig(json)
      assert.strictEqual(fromYaml.hash, fromJson.hash)
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("names the line of a YAML syntax error", () =>
    Effect.gen(function*() {
      const file = yield* withFile("c.yaml", "providers:\n  - { name: local, type: mock\ncolumns: []\n")
      const error = yield* loadConfig(file).pipe(Effect.flip)
      assert.match(error.report, /^invalid YAML \(line \d+, column \d+\)/)
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("says when the file cannot be read", () =>
    Effect.gen(function*() {
      const error = yield* loadConfig("/nonexistent/sluice.yaml").pipe(Effect.flip)
      assert.strictEqual(error.report, "no such file: /nonexistent/sluice.yaml")
    }).pipe(Effect.provide(NodeServices.layer)))
})
