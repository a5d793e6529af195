import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { startHostileServer } from "../support/hostileServer.js"
import { cliPath, repoRoot, runCli, runMockInBackground, tempDir } from "./runCli.js"

// What a new user meets: typos, templates, paths, the check, tokens and truncation — through the real CLI process.

const writeJson = (dir: string, name: string, config: unknown): string => {
  const file = join(dir, name)
  writeFileSync(file, JSON.stringify(config, null, 2))
  return file
}

const readRows = (out: string): ReadonlyArray<Record<string, unknown>> =>
  existsSync(join(out, "data"))
    ? readdirSync(join(out, "data"))
      .filter((file) => file.endsWith(".jsonl"))
      .sort()
      .flatMap((file) =>
        readFileSync(join(out, "data", file), "utf8").split("\n").filter((line) => line !== "").map((line) =>
          JSON.parse(line) as Record<string, unknown>
        )
      )
    : []

const summaryOf = (out: string) => JSON.parse(readFileSync(join(out, "summary.json"), "utf8"))

const mock = { name: "local", type: "mock", mock: { latencyMs: { min: 1, max: 5 } } }

describe("strict config (through the CLI process)", () => {
  it.live(
    "five misspelled keys: exit 2, every one named with the key it meant, nothing truncated",
    () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const config = writeJson(dir, "typos.json", {
          providers: [{ ...mock, mock: { capacty: 8 } }],
          models: [{ alias: "writer", provider: "local", model: "m", maxParalelRequests: 8, top_p: 0.9 }],
          columns: [
            { name: "topic", type: "category", values: ["tents"] },
            {
              name: "review",
              type: "llm-text",
              model: "writer",
              prompt: "About {{ topic }}",
              system_prompt: "Be brief."
            }
          ],
          run: { rowz: 10 }
        })
        for (const command of ["validate", "generate"]) {
          const run = yield* runCli([command, config, ...(command === "generate" ? ["--out", join(dir, "out")] : [])])
          assert.strictEqual(run.code, 2, run.stderr)
          assert.strictEqual(
            run.stderr,
            [
              `sluice: 5 problems in ${config}:`,
              "  providers[0].mock.capacty: unknown key — did you mean `capacity`?",
              "  models[0].maxParalelRequests: unknown key — did you mean `maxParallelRequests`?",
              "  models[0].top_p: unknown key — did you mean `topP`?",
              "  columns[1].system_prompt: unknown key — did you mean `system`?",
              "  run.rowz: unknown key — did you mean `rows`?",
              ""
            ].join("\n")
          )
          assert.notInclude(run.stderr, "more")
        }
        assert.isFalse(existsSync(join(dir, "out")))
      }),
    90_000
  )
})

describe("templates cannot touch the file system (through the CLI process)", () => {
  it.live(
    "{% include '.env' %} and {% render 'package.json' %} fail at config check; no file content goes anywhere",
    () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const secret = "sk-this-must-never-leave-the-file-0123456789"
        writeFileSync(join(dir, ".env"), `OPENAI_API_KEY=${secret}\n`)
        writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "secret-package-name-42" }))
        const attempts: ReadonlyArray<readonly [string, Record<string, unknown>, string]> = [
          ["include", { name: "leak", type: "llm-text", model: "writer", prompt: "{% include '.env' %}" }, "include"],
          ["render", { name: "leak", type: "template", template: "{% render 'package.json' %}" }, "render"],
          [
            "a JavaScript escape",
            { name: "leak", type: "template", template: "{{ topic.constructor.constructor('return process')() }}" },
            "function calls are not supported"
          ]
        ]
        for (const [name, column, expected] of attempts) {
          const config = writeJson(dir, "leak.json", {
            providers: [mock],
            models: [{ alias: "writer", provider: "local", model: "m" }],
            columns: [{ name: "topic", type: "category", values: ["tents"] }, column],
            run: { rows: 2 }
          })
          const out = join(dir, "out")
          // Every command that loads a config refuses it; one case shows it for all three.
          for (const command of name === "include" ? ["validate", "generate", "preview"] : ["validate"]) {
            const run = yield* runCli([command, "leak.json", ...(command === "generate" ? ["--out", "out"] : [])], {
              cwd: dir
            })
            assert.strictEqual(run.code, 2, `${name} / ${command}: ${run.stderr}`)
            assert.match(run.stderr, /^sluice: columns\[1\]\.(prompt|template): /, `${name} / ${command}`)
            assert.include(run.stderr, expected, `${name} / ${command}`)
            for (const text of [run.stdout, run.stderr]) {
              assert.notInclude(text, secret)
              assert.notInclude(text, "secret-package-name-42")
            }
          }
          assert.isFalse(existsSync(out), `${name}: no dataset`)
          assert.isTrue(existsSync(config))
        }
      }),
    90_000
  )
})

describe("Jinja templates (through the CLI process)", () => {
  it.live(
    "filters, conditions, loops and dotted access render exactly as Jinja renders them",
    () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const cases: ReadonlyArray<readonly [string, string]> = [
          // Expected outputs: jinja2 3.1.6 on the same templates and values.
          ["{{ name | upper }}", "  ADA LOVELACE-BYRON (COUNTESS) "],
          ["{{ name | lower }}", "  ada lovelace-byron (countess) "],
          ["{{ name | title }}", "  Ada Lovelace-Byron (Countess) "],
          ["{{ name | trim }}", "ada lovelace-byron (countess)"],
          ["{{ empty | default('n/a') }}", ""],
          ["{{ empty | default('n/a', true) }}", "n/a"],
          ["{{ ['b', 'a', 'c'] | join(', ') }}", "b, a, c"],
          ["{{ name | length }}", "32"],
          ["{{ name | replace('a', 'A', 2) }}", "  AdA lovelace-byron (countess) "],
          [
            "{{ {'z': 1, 'a': [1, 2.5, none, true], 's': \"<é & 'x'>\"} | tojson }}",
            "{\"a\": [1, 2.5, null, true], \"s\": \"\\u003c\\u00e9 \\u0026 \\u0027x\\u0027\\u003e\", \"z\": 1}"
          ],
          ["{% if n > 2 %}big{% elif n == 2 %}two{% else %}small{% endif %}", "two"],
          ["{% for w in ['x', 'y'] %}{{ loop.index }}{{ w | upper }}{% endfor %}", "1X2Y"]
        ]
        const config = writeJson(dir, "jinja.json", {
          providers: [mock],
          columns: [
            { name: "name", type: "category", values: ["  ada lovelace-byron (countess) "] },
            { name: "n", type: "category", values: [2] },
            { name: "empty", type: "category", values: [""] },
            ...cases.map(([template], index) => ({ name: `t${index}`, type: "template", template }))
          ],
          run: { rows: 2 }
        })
        const out = join(dir, "out")
        const run = yield* runCli(["generate", config, "--out", out, "--no-check"])
        assert.strictEqual(run.code, 0, run.stderr)
        const rows = readRows(out)
        assert.strictEqual(rows.length, 2)
        cases.forEach(([template, expected], index) => assert.strictEqual(rows[0]![`t${index}`], expected, template))
      }),
    90_000
  )
})

describe("sluice check (through the CLI process)", () => {
  it.live("passes on the mock: every model and structured probe answers, exit 0", () =>
    Effect.gen(function*() {
      const run = yield* runCli(["check", "examples/quickstart.yaml"])
      assert.strictEqual(run.code, 0, run.stderr)
      assert.match(run.stdout, /ok {4}writer \(mock-writer on local\): answered in \d+ ms/)
      assert.match(run.stdout, /ok {4}writer \(mock-writer on local\), structured output: answered in \d+ ms/)
      assert.match(run.stdout, /ok {4}judge \(mock-judge on local\): answered in \d+ ms/)
      assert.include(run.stdout, "every model answered")
    }), 90_000)

  it.live(
    "a server that answers 401: the provider's message (key redacted), exit 4; generate stops before the run",
    () =>
      Effect.gen(function*() {
        const server = yield* startHostileServer({
          _tag: "unauthorized",
          message: "Incorrect API key provided: sk-abc***xyz. You can find your API key at the dashboard."
        })
        const dir = yield* tempDir
        const config = writeJson(dir, "401.json", {
          providers: [{
            name: "remote",
            type: "openai-compatible",
            baseUrl: server.baseUrl,
            apiKeyEnv: "SLUICE_401_KEY"
          }],
          models: [{ alias: "writer", provider: "remote", model: "gpt-x" }],
          columns: [{ name: "review", type: "llm-text", model: "writer", prompt: "Hello" }],
          run: { rows: 4 }
        })
        const env = { SLUICE_401_KEY: "sk-live-key-that-must-stay-secret-9876" }
        const check = yield* runCli(["check", config], { env })
        assert.strictEqual(check.code, 4, check.stderr)
        assert.include(check.stdout, "FAIL  writer (gpt-x on remote): 401 authentication: Incorrect API key provided")
        assert.include(check.stderr, "1 model did not answer the check (writer)")
        const out = join(dir, "out")
        const generate = yield* runCli(["generate", config, "--out", out], { env })
        assert.strictEqual(generate.code, 4, generate.stderr)
        assert.include(generate.stderr, "check FAIL  writer (gpt-x on remote): 401 authentication")
        assert.isFalse(existsSync(join(out, "summary.json")), "no run")
        for (const text of [check.stdout, check.stderr, generate.stdout, generate.stderr]) {
          assert.notInclude(text, env.SLUICE_401_KEY)
        }
      }),
    90_000
  )

  it.live("a config error is exit 2", () =>
    Effect.gen(function*() {
      const run = yield* runCli(["check", "no/such/config.yaml"])
      assert.strictEqual(run.code, 2)
      assert.include(run.stderr, "no such file")
    }), 90_000)
})

describe("sluice preview (through the CLI process)", () => {
  it.live("prints a few rows as a table, and writes no dataset", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const config = join(repoRoot, "examples/quickstart.yaml")
      const run = yield* runCli(["preview", config, "--rows", "2"], { cwd: dir, env: { COLUMNS: "100" } })
      assert.strictEqual(run.code, 0, run.stderr)
      assert.include(run.stdout, "│ row 1")
      assert.include(run.stdout, "│ row 2")
      assert.match(run.stdout, /│ summary +│ \S.* \(\d\/5\) +│/)
      assert.include(run.stdout, "2 of 2 rows (not saved)")
      assert.deepStrictEqual(readdirSync(dir), [])
    }), 90_000)
})

describe("tokens and truncation (through the CLI process)", () => {
  it.live(
    "summary.json's tokens equal what the provider served (its /stats), per model and in total, with cost",
    () =>
      Effect.gen(function*() {
        const url = yield* runMockInBackground
        const dir = yield* tempDir
        const config = writeJson(dir, "tokens.json", {
          providers: [{ name: "remote", type: "openai-compatible", baseUrl: url }],
          models: [
            { alias: "writer", provider: "remote", model: "w", pricing: { inputPerMillion: 2, outputPerMillion: 8 } },
            { alias: "judge", provider: "remote", model: "j" }
          ],
          columns: [
            { name: "topic", type: "category", values: ["tents", "lamps", "boots"] },
            { name: "review", type: "llm-text", model: "writer", prompt: "Review {{ topic }}." },
            {
              name: "score",
              type: "llm-structured",
              model: "judge",
              prompt: "Score: {{ review }}",
              schema: {
                type: "object",
                properties: { score: { type: "integer" } },
                required: ["score"]
              }
            }
          ],
          run: { rows: 24, bufferSize: 8 }
        })
        const out = join(dir, "out")
        // No check: its requests would count in the provider's /stats too.
        const run = yield* runCli(["generate", config, "--out", out, "--no-check"])
        assert.strictEqual(run.code, 0, run.stderr)
        const stats = yield* Effect.promise(() =>
          fetch(`${url.replace(/\/v1$/, "")}/stats`).then((r) =>
            r.json() as Promise<{ readonly promptTokens: number; readonly completionTokens: number }>
          )
        )
        const tokens = summaryOf(out).tokens
        assert.isAbove(stats.promptTokens, 0)
        assert.strictEqual(tokens.promptTokens, stats.promptTokens)
        assert.strictEqual(tokens.completionTokens, stats.completionTokens)
        assert.strictEqual(tokens.totalTokens, stats.promptTokens + stats.completionTokens)
        const writer = tokens.byModel.writer
        assert.strictEqual(writer.promptTokens + tokens.byModel.judge.promptTokens, stats.promptTokens)
        assert.strictEqual(writer.cost, Math.round(writer.promptTokens * 2 + writer.completionTokens * 8) / 1e6)
        assert.strictEqual(tokens.cost, writer.cost)
        assert.deepStrictEqual(tokens.unpricedModels, ["judge"])
        assert.match(run.stdout, /^tokens: [\d,]+ prompt \+ [\d,]+ completion = [\d,]+ \(writer /m)
      }),
    90_000
  )

  it.live(
    "answers cut off by max_tokens are counted as truncated and never written as complete",
    () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const configWith = (onTruncated: string) => ({
          providers: [mock],
          models: [{ alias: "writer", provider: "local", model: "m", maxTokens: 3, onTruncated }],
          columns: [
            { name: "topic", type: "category", values: ["tents", "lamps"] },
            { name: "review", type: "llm-text", model: "writer", prompt: "Write a long review of {{ topic }}." }
          ],
          run: { rows: 6, bufferSize: 6 }
        })
        const generate = (onTruncated: string) =>
          Effect.gen(function*() {
            const out = join(dir, onTruncated)
            const run = yield* runCli([
              "generate",
              writeJson(dir, `${onTruncated}.json`, configWith(onTruncated)),
              "--out",
              out
            ])
            return { run, summary: summaryOf(out), rows: readRows(out) }
          })

        // retry: every attempt is cut off (the mock is deterministic), so after its retries each row is dropped.
        const retried = yield* generate("retry")
        assert.strictEqual(retried.rows.length, 0)
        assert.deepStrictEqual(retried.summary.dropCauses, { truncated: 6 })
        assert.strictEqual(retried.summary.requests.truncated, retried.summary.requests.succeeded)
        assert.isAbove(retried.summary.requests.truncated, 6)
        // Every row dropped: nothing on disk, which `generate` reports as a run that wrote nothing (exit 4).
        assert.strictEqual(retried.run.code, 4, retried.run.stderr)
        assert.include(retried.run.stderr, "truncated 6")

        // drop: one attempt each, then dropped.
        const dropped = yield* generate("drop")
        assert.strictEqual(dropped.rows.length, 0)
        assert.deepStrictEqual(dropped.summary.dropCauses, { truncated: 6 })
        assert.strictEqual(dropped.summary.requests.truncated, 6)

        // keep: written, and flagged.
        const kept = yield* generate("keep")
        assert.strictEqual(kept.run.code, 0, kept.run.stderr)
        assert.strictEqual(kept.rows.length, 6)
        for (const row of kept.rows) {
          assert.deepStrictEqual(Object.keys(row), ["topic", "review", "review__truncated"])
          assert.strictEqual(row["review__truncated"], true)
        }
        assert.strictEqual(kept.summary.requests.truncated, 6)
      }),
    90_000
  )
})

describe("paths are the user's (through the CLI process)", () => {
  it.live(
    "a config and --out relative to where the user runs the command, via pnpm's INIT_CWD or directly",
    () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        mkdirSync(join(dir, "configs"))
        writeJson(join(dir, "configs"), "small.json", {
          providers: [mock],
          columns: [{ name: "id", type: "uuid" }],
          run: { rows: 3 }
        })
        // Directly, from the user's directory.
        const direct = yield* runCli(["generate", "configs/small.json", "--out", "here", "--no-check"], { cwd: dir })
        assert.strictEqual(direct.code, 0, direct.stderr)
        assert.strictEqual(readRows(join(dir, "here")).length, 3)
        // Through scripts/sluice.mjs (what `pnpm sluice` runs, from the repository root) with pnpm's INIT_CWD.
        const viaPnpm = yield* Effect.promise(() =>
          import("node:child_process").then(({ spawnSync }) =>
            spawnSync(process.execPath, [join(repoRoot, "scripts/sluice.mjs"), "validate", "configs/small.json"], {
              cwd: repoRoot,
              env: { ...process.env, INIT_CWD: dir },
              encoding: "utf8"
            })
          )
        )
        assert.strictEqual(viaPnpm.status, 0, viaPnpm.stderr)
        assert.include(viaPnpm.stdout, "configs/small.json: valid")
        assert.isTrue(existsSync(cliPath))
      }),
    120_000
  )
})

// A free loopback port for a server that cannot be told to pick one (there is a small race; tests accept it).
const freePort = Effect.promise(() =>
  import("node:net").then(({ createServer }) =>
    new Promise<number>((resolve) => {
      const server = createServer()
      server.listen(0, "127.0.0.1", () => {
        const port = (server.address() as { readonly port: number }).port
        server.close(() => resolve(port))
      })
    })
  )
)

// mock-llm (npm `@dwmkerr/mock-llm`, MIT): an OpenAI-compatible mock server this project did not write, answering
// by rules from a YAML file. Its default rule echoes the prompt into a JSON template without escaping it, so these
// rules answer fixed texts (with `usage`, which it does not add itself), and JSON to requests with a response_format.
const mockLlmRules = `rules:
  - path: "/v1/chat/completions"
    method: "POST"
    match: "@"
    response:
      status: 200
      content: |
        {"id": "chatcmpl-{{timestamp}}", "object": "chat.completion", "model": "{{jmes request body.model}}",
         "choices": [{"index": 0, "message": {"role": "assistant", "content": "A sturdy tent that keeps the rain out."},
                      "finish_reason": "stop"}],
         "usage": {"prompt_tokens": 12, "completion_tokens": 9, "total_tokens": 21}}
  - path: "/v1/chat/completions"
    method: "POST"
    match: "body.response_format"
    response:
      status: 200
      content: |
        {"id": "chatcmpl-{{timestamp}}", "object": "chat.completion", "model": "{{jmes request body.model}}",
         "choices": [{"index": 0, "message": {"role": "assistant", "content": "{\\"sentiment\\": \\"positive\\"}"},
                      "finish_reason": "stop"}],
         "usage": {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25}}
`

const startMockLlm = (dir: string) =>
  Effect.gen(function*() {
    const port = yield* freePort
    writeFileSync(join(dir, "mock-llm.yaml"), mockLlmRules)
    const main = join(repoRoot, "apps/reference/node_modules/@dwmkerr/mock-llm/dist/main.js")
    return yield* Effect.acquireRelease(
      Effect.callback<ChildProcess>((resume) => {
        const child = spawn(process.execPath, [main, "--config", join(dir, "mock-llm.yaml")], {
          cwd: dir,
          env: { ...process.env, HOST: "127.0.0.1", PORT: String(port) },
          stdio: ["ignore", "pipe", "inherit"]
        })
        let output = ""
        child.stdout.on("data", (chunk: Buffer) => {
          output += chunk.toString()
          if (output.includes("server running on")) resume(Effect.succeed(child))
        })
        return Effect.sync(() => child.kill("SIGKILL"))
      }),
      (child) => Effect.sync(() => child.kill("SIGTERM"))
    ).pipe(Effect.as(`http://127.0.0.1:${port}/v1`))
  })

describe("a third-party OpenAI-compatible server (mock-llm, from npm)", () => {
  it.live(
    "check passes, and generate writes a small dataset end to end with token counts",
    () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const baseUrl = yield* startMockLlm(dir)
        const config = writeJson(dir, "third-party.json", {
          providers: [{ name: "mockllm", type: "openai-compatible", baseUrl, apiKeyEnv: "MOCK_LLM_KEY" }],
          models: [{
            alias: "writer",
            provider: "mockllm",
            model: "gpt-4o-mini",
            temperature: 0.7,
            topP: 0.9,
            maxTokens: 64,
            seed: 1,
            stop: ["\n\n"],
            extraHeaders: { "X-Team": "data", "X-Token": { env: "MOCK_LLM_TOKEN" } },
            pricing: { inputPerMillion: 1, outputPerMillion: 2 }
          }],
          columns: [
            { name: "product", type: "category", values: ["tent", "lamp"] },
            { name: "review", type: "llm-text", model: "writer", prompt: "Review a {{ product | upper }}." },
            {
              name: "verdict",
              type: "llm-structured",
              model: "writer",
              strict: true,
              prompt: "Classify: {{ review }}",
              schema: {
                type: "object",
                properties: { sentiment: { type: "string" } },
                required: ["sentiment"],
                additionalProperties: false
              }
            }
          ],
          run: { rows: 6, bufferSize: 3 }
        })
        const env = { MOCK_LLM_KEY: "sk-mock-llm-key-000000", MOCK_LLM_TOKEN: "header-secret-1234567" }
        const check = yield* runCli(["check", config], { env })
        assert.strictEqual(check.code, 0, check.stdout + check.stderr)
        const out = join(dir, "out")
        const run = yield* runCli(["generate", config, "--out", out], { env })
        assert.strictEqual(run.code, 0, run.stderr)
        const rows = readRows(out)
        assert.strictEqual(rows.length, 6)
        for (const row of rows) {
          assert.strictEqual(row["review"], "A sturdy tent that keeps the rain out.")
          assert.deepStrictEqual(row["verdict"], { sentiment: "positive" })
        }
        const summary = summaryOf(out)
        assert.deepStrictEqual(summary.tokens.byModel.writer.promptTokens, 6 * 12 + 6 * 20)
        assert.deepStrictEqual(summary.tokens.byModel.writer.completionTokens, 6 * 9 + 6 * 5)
        assert.strictEqual(summary.tokens.cost, (6 * 12 + 6 * 20 + 2 * (6 * 9 + 6 * 5)) / 1e6)
        // Header values from the environment are never written anywhere.
        for (const file of readdirSync(out).filter((f) => f.endsWith(".json"))) {
          assert.notInclude(readFileSync(join(out, file), "utf8"), env.MOCK_LLM_TOKEN)
        }
        assert.notInclude(run.stdout + run.stderr, env.MOCK_LLM_TOKEN)
      }),
    90_000
  )
})
