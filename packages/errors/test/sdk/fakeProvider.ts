import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"

/**
 * How the fake provider answers, chosen by the request's `model`: the failures the SDK adapters must classify,
 * and one success.
 */
export const scenarios = {
  "rate-limited": {
    status: 429,
    headers: { "retry-after": "2" },
    body: {
      error: {
        message: "Rate limit reached for requests per min (RPM): Limit 3, Used 3, Requested 1.",
        type: "requests",
        code: "rate_limit_exceeded"
      }
    }
  },
  "rate-limited-ms": {
    status: 429,
    headers: { "retry-after-ms": "1500", "retry-after": "2" },
    body: { error: { message: "Rate limit reached.", type: "requests", code: "rate_limit_exceeded" } }
  },
  "rate-limited-date": {
    status: 429,
    headers: { "retry-after": "Wed, 21 Oct 2026 07:28:07 GMT" },
    body: { error: { message: "Rate limit reached.", type: "requests", code: "rate_limit_exceeded" } }
  },
  "rate-limited-for-hours": {
    status: 429,
    headers: { "retry-after": "86400" },
    body: { error: { message: "Rate limit reached.", type: "requests", code: "rate_limit_exceeded" } }
  },
  "rate-limited-briefly": {
    status: 429,
    headers: { "retry-after-ms": "1" },
    body: { error: { message: "Rate limit reached.", type: "requests", code: "rate_limit_exceeded" } }
  },
  "out-of-quota": {
    status: 429,
    headers: {},
    body: {
      error: {
        message: "You exceeded your current quota, please check your plan and billing details.",
        type: "insufficient_quota",
        code: "insufficient_quota"
      }
    }
  },
  overloaded: { status: 503, headers: {}, body: "upstream overloaded, try again later" },
  "bad-key": {
    status: 401,
    headers: {},
    body: {
      error: {
        message: "Incorrect API key provided: sk-bad. You can find your API key in your account settings.",
        type: "invalid_request_error",
        code: "invalid_api_key"
      }
    }
  },
  "too-long": {
    status: 400,
    headers: {},
    body: {
      error: {
        message: "This model's maximum context length is 128000 tokens. However, your messages resulted in " +
          "130000 tokens. Please reduce the length of the messages.",
        type: "invalid_request_error",
        code: "context_length_exceeded"
      }
    }
  },
  "connection-reset": "reset",
  ok: {
    status: 200,
    headers: {},
    body: {
      id: "chatcmpl-1",
      object: "chat.completion",
      created: 1_700_000_000,
      model: "ok",
      choices: [{ index: 0, message: { role: "assistant", content: "Hello!" }, finish_reason: "stop" }],
      usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 }
    }
  }
} as const

export type Scenario = keyof typeof scenarios

export interface FakeProvider {
  /** The OpenAI-compatible base URL, `http://127.0.0.1:<port>/v1`. */
  readonly baseUrl: string
  /** Requests received per model, to show an SDK did not retry on its own. */
  readonly requests: (model: Scenario) => number
  readonly close: () => Promise<void>
}

const modelOf = (body: string): string => {
  const parsed: unknown = JSON.parse(body)
  return typeof parsed === "object" && parsed !== null && typeof (parsed as { model?: unknown }).model === "string"
    ? (parsed as { model: string }).model
    : "ok"
}

const answer = (request: IncomingMessage, response: ServerResponse, model: string) => {
  const scenario = (scenarios as Record<string, (typeof scenarios)[Scenario]>)[model] ?? scenarios.ok
  if (scenario === "reset") {
    request.socket.destroy()
    return
  }
  const text = typeof scenario.body === "string" ? scenario.body : JSON.stringify(scenario.body)
  response.writeHead(scenario.status, {
    "content-type": typeof scenario.body === "string" ? "text/plain" : "application/json",
    ...scenario.headers
  })
  response.end(text)
}

/** An OpenAI-compatible endpoint on a random loopback port that answers each model with its scenario. */
export const startFakeProvider = (): Promise<FakeProvider> =>
  new Promise((resolve) => {
    const counts = new Map<string, number>()
    const server = createServer((request, response) => {
      const chunks: Array<Buffer> = []
      request.on("data", (chunk: Buffer) => chunks.push(chunk))
      request.on("end", () => {
        const model = modelOf(Buffer.concat(chunks).toString("utf8"))
        counts.set(model, (counts.get(model) ?? 0) + 1)
        answer(request, response, model)
      })
    })
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      resolve({
        baseUrl: `http://127.0.0.1:${port}/v1`,
        requests: (model) => counts.get(model) ?? 0,
        close: () =>
          new Promise((done) => {
            server.closeAllConnections()
            server.close(() => done())
          })
      })
    })
  })
