// Checkpoint cost of `sluice generate`, measured through the real CLI: a uuid-only dataset (no model calls, so
// the run is all scheduling and output) written with small row groups (bufferSize 64) and large ones (1024).
// With an O(1) checkpoint, the small-group run costs at most a small factor more than the large-group one, and
// publishing 1,000 groups takes as long late in the run as early on. The time per 1,000 groups is read from the
// journal (one line per published group) at 10 %, 50 % and 85 % of the groups; the last groups are left out, as
// the writer may publish a backlog of queued groups there in one burst.
//
//   pnpm --filter @sluice/reference build
//   pnpm --filter @sluice/reference exec node scripts/checkpoint-cost.mjs [--rows 1000000] [--rounds 1]
//
// Linux only (CPU time and peak RSS are read from /proc). Prints one JSON object per run, then a summary.
import { spawn } from "node:child_process"
import { mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const argument = (name, fallback) => {
  const index = process.argv.indexOf(`--${name}`)
  return index === -1 ? fallback : Number(process.argv[index + 1])
}
const rows = argument("rows", 1_000_000)
const rounds = argument("rounds", 1)
const cli = fileURLToPath(new URL("../dist/cli.js", import.meta.url))
const work = mkdtempSync(join(tmpdir(), "sluice-checkpoint-cost-"))
const ticksPerSecond = 100 // USER_HZ on Linux

const configOf = (bufferSize) => {
  const file = join(work, `uuid-${bufferSize}.json`)
  writeFileSync(
    file,
    JSON.stringify({
      providers: [{ name: "local", type: "mock" }],
      columns: [{ name: "id", type: "uuid" }],
      run: { rows, bufferSize }
    })
  )
  return file
}

/** CPU seconds (user + system) and peak RSS so far of a live process, from /proc (a zombie has no VmHWM). */
const sample = (pid) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    const cpu = (Number(fields[11]) + Number(fields[12])) / ticksPerSecond
    const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))
    return { cpu, peakRssMb: hwm === null ? 0 : Number(hwm[1]) / 1024 }
  } catch {
    return undefined
  }
}

const run = (bufferSize) =>
  new Promise((resolve) => {
    const out = join(work, `out-${bufferSize}`)
    rmSync(out, { recursive: true, force: true })
    const started = performance.now()
    const child = spawn(process.execPath, [cli, "generate", configOf(bufferSize), "--out", out, "--progress", "off"], {
      stdio: ["ignore", "ignore", "inherit"]
    })
    // The journal gets one line per published group: follow it to time every 1,000 groups.
    const groupTimes = []
    const groupCpu = []
    let offset = 0
    let fd
    let cpuSeconds
    let peakRssMb = 0
    const poll = () => {
      const now = sample(child.pid)
      if (now !== undefined) {
        cpuSeconds = now.cpu
        peakRssMb = Math.max(peakRssMb, now.peakRssMb)
      }
      const cpuNow = cpuSeconds
      try {
        fd ??= openSync(join(out, "journal.jsonl"), "r")
      } catch {
        return
      }
      const buffer = Buffer.alloc(1 << 20)
      for (;;) {
        const read = readSync(fd, buffer, 0, buffer.length, offset)
        if (read === 0) break
        offset += read
        const at = performance.now()
        for (let i = 0; i < read; i++) {
          if (buffer[i] === 10) {
            groupTimes.push(at)
            groupCpu.push(cpuNow)
          }
        }
      }
    }
    const timer = setInterval(poll, 50)
    child.on("close", (code) => {
      clearInterval(timer)
      poll()
      const wallSeconds = (performance.now() - started) / 1000
      const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8"))
      // groupTimes[0] is the journal's header line.
      const groups = groupTimes.slice(1)
      const cpuAt = groupCpu.slice(1)
      // What `values` (one per group) grew by over the 1,000 groups from `share` of the run: wall milliseconds ÷
      // 1,000 for the times, CPU seconds for the CPU readings (insensitive to other load on the machine).
      const over1000 = (values, share, scale) => {
        const from = Math.max(1, Math.floor(groups.length * share))
        const [start, end] = [values[from - 1], values[from + 999]]
        return start === undefined || end === undefined ? undefined : (end - start) * scale
      }
      const per1000 = (share) => over1000(groups, share, 1 / 1000)
      // The whole curve, every 10 % of the groups: where a cost that grows with the run would show.
      const series = (of) =>
        [0.05, 0.15, 0.25, 0.35, 0.45, 0.55, 0.65, 0.75, 0.85].map((share) => {
          const value = of(share)
          return value === undefined ? null : Math.round(value * 1000) / 1000
        })
      rmSync(out, { recursive: true, force: true })
      resolve({
        bufferSize,
        code,
        rowsOnDisk: summary.rowsCompleted,
        groups: groups.length,
        wallSeconds,
        elapsedSeconds: summary.elapsedSeconds,
        cpuSeconds,
        peakRssMb,
        secondsPer1000GroupsAt10: per1000(0.1),
        secondsPer1000GroupsAt50: per1000(0.5),
        secondsPer1000GroupsAt85: per1000(0.85),
        secondsPer1000GroupsSeries: series(per1000),
        cpuSecondsPer1000GroupsSeries: series((share) => over1000(cpuAt, share, 1))
      })
    })
  })

const results = []
for (let round = 0; round < rounds; round++) {
  for (const bufferSize of [1024, 64]) {
    const result = await run(bufferSize)
    console.log(JSON.stringify(result))
    results.push(result)
  }
}
rmSync(work, { recursive: true, force: true })

const pick = (bufferSize, key, how) => {
  const values = results.filter((r) => r.bufferSize === bufferSize).map((r) => r[key]).filter((v) => v !== undefined)
  const sorted = values.sort((a, b) => a - b)
  return how === "min" ? sorted[0] : sorted[Math.floor((sorted.length - 1) / 2)]
}
const fixed = (value, digits = 2) => (value === undefined || Number.isNaN(value) ? "n/a" : value.toFixed(digits))
const line = (how) => {
  const of = (bufferSize, key) => pick(bufferSize, key, how)
  return [
    `${how}:`,
    `  bufferSize 1024: wall ${fixed(of(1024, "wallSeconds"))} s, cpu ${fixed(of(1024, "cpuSeconds"))} s, ` +
    `peak RSS ${fixed(of(1024, "peakRssMb"), 0)} MB`,
    `  bufferSize   64: wall ${fixed(of(64, "wallSeconds"))} s, cpu ${fixed(of(64, "cpuSeconds"))} s, ` +
    `peak RSS ${fixed(of(64, "peakRssMb"), 0)} MB`,
    `  64 vs 1024: wall ${fixed(of(64, "wallSeconds") / of(1024, "wallSeconds"))}×, ` +
    `cpu ${fixed(of(64, "cpuSeconds") / of(1024, "cpuSeconds"))}×`,
    `  bufferSize 64, seconds per 1,000 groups at 10 % / 50 % / 85 % of the run: ` +
    `${fixed(of(64, "secondsPer1000GroupsAt10"))} / ${fixed(of(64, "secondsPer1000GroupsAt50"))} / ` +
    `${fixed(of(64, "secondsPer1000GroupsAt85"))} ` +
    `(85 % vs 10 %: ${fixed(of(64, "secondsPer1000GroupsAt85") / of(64, "secondsPer1000GroupsAt10"))}×)`
  ].join("\n")
}
console.log([`rows ${rows}, ${rounds} round(s)`, line("median"), line("min")].join("\n"))
