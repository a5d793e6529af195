// `pnpm test:pack`: installs every publishable package the way a user does, and runs its README examples there.
//
// 1. Builds the publishable packages (turbo, cached) and packs each with `pnpm pack` (which turns `workspace:*`
//    into real versions), then checks each tarball holds LICENSE (the root's), README.md, dist/*.js, dist/*.d.ts
//    and a declaration map beside every .d.ts, with the sources each map names.
// 2. For each package, a scratch project under the OS temp directory — outside the workspace, so nothing resolves
//    through workspace links — installs with plain npm: that package's tarball, the tarballs of the @sluice
//    packages it depends on (transitively), `effect` (the peer dependency, at the workspace's version) and what
//    its examples declare on an `// example-deps:` line (`@sluice/…` from tarballs, anything else from the npm
//    registry at the exact version given).
// 3. Checks there that every package the .d.ts import came with types, then runs, with Node 22, every example
//    its README embeds (`<!-- example: examples/<name>.ts -->`) as
//    `node examples/<name>.ts`, and `npx <bin> --help` for each bin.
//
// Ends with "pack-install: N passed, N failed" and exits non-zero if anything failed. `--keep` keeps the scratch
// projects; `--only <name>` (repeatable) limits the run to some packages.
import { spawn, spawnSync } from "node:child_process"
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync
} from "node:fs"
import { tmpdir } from "node:os"
import { delimiter, dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
const argv = process.argv.slice(2)
const keep = argv.includes("--keep")
const only = argv.flatMap((arg, i) => (argv[i - 1] === "--only" ? [arg] : []))
const started = performance.now()
const seconds = (from) => ((performance.now() - from) / 1000).toFixed(1)

// Children — examples and bins alike — run on the pinned Node 22 (the root devDependency `node`), whatever Node runs
// this script: its directory goes first on PATH (it holds that binary alone, unlike node_modules/.bin).
const pinnedNode = realpathSync(join(root, "node_modules", ".bin", "node"))
const env = {
  ...process.env,
  PATH: `${dirname(pinnedNode)}${delimiter}${process.env.PATH ?? ""}`,
  npm_config_audit: "false",
  npm_config_fund: "false",
  npm_config_update_notifier: "false",
  // pnpm sets these for its scripts; they must not steer the scratch projects' npm.
  npm_config_user_agent: undefined,
  npm_config_workspace: undefined
}
for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key]

const run = (command, args, options) => {
  const result = spawnSync(command, args, { encoding: "utf8", env, maxBuffer: 64 * 1024 * 1024, ...options })
  return {
    ok: result.status === 0,
    status: result.status ?? result.signal,
    stdout: result.stdout,
    out: `${result.stdout}${result.stderr}`
  }
}

// Like `run`, without blocking: scratch projects install and run side by side.
const runAsync = (command, args, options) =>
  new Promise((resolve) => {
    const child = spawn(command, args, { env, ...options })
    let out = ""
    child.stdout.on("data", (chunk) => (out += chunk))
    child.stderr.on("data", (chunk) => (out += chunk))
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 120_000)
    child.on("close", (status, signal) => {
      clearTimeout(timer)
      resolve({ ok: status === 0, status: status ?? signal, out })
    })
  })

// --- the publishable packages ---------------------------------------------------------------------------------
const packages = ["packages", "apps"]
  .flatMap((group) => readdirSync(join(root, group)).map((name) => join(root, group, name)))
  .filter((dir) => existsSync(join(dir, "package.json")))
  .map((dir) => ({ dir, manifest: JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) }))
  .filter(({ manifest }) => manifest.private !== true)
const byName = new Map(packages.map((pkg) => [pkg.manifest.name, pkg]))
const selected = only.length === 0 ? packages : packages.filter((pkg) => only.includes(pkg.manifest.name))

const build = run("pnpm", [
  "exec",
  "turbo",
  "run",
  "build",
  ...packages.map((pkg) => `--filter=${pkg.manifest.name}`),
  "--output-logs=errors-only"
], { cwd: root, env: { ...env, TURBO_TELEMETRY_DISABLED: "1" } })
console.log(`built in ${seconds(started)} s`)
if (!build.ok) {
  console.error(build.out)
  console.error("pack-install: the build failed")
  process.exit(1)
}

const results = []
const record = (name, check, ok, detail = "") => {
  results.push({ name, check, ok })
  console.log(`${ok ? "ok  " : "FAIL"} ${name}: ${check}${ok || detail === "" ? "" : `\n${detail.trimEnd()}`}`)
}

const work = mkdtempSync(join(tmpdir(), "sluice-pack-"))
const tarballs = join(work, "tarballs")
const rootLicense = readFileSync(join(root, "LICENSE"), "utf8")

// --- pack and check each tarball ------------------------------------------------------------------------------
for (const pkg of packages) {
  const packed = run("pnpm", ["pack", "--pack-destination", tarballs, "--json"], { cwd: pkg.dir })
  const name = pkg.manifest.name
  if (!packed.ok) {
    record(name, "pnpm pack", false, packed.out)
    continue
  }
  const info = JSON.parse(packed.stdout)
  pkg.tarball = info.filename
  const files = info.files.map((file) => file.path)
  const declarations = files.filter((file) => /^dist\/.*\.d\.ts$/.test(file))
  const missing = [
    ...["LICENSE", "README.md"].filter((file) => !files.includes(file)),
    ...[
      ["dist/*.js", /^dist\/[^/]+\.js$/],
      ["dist/*.d.ts", /^dist\/[^/]+\.d\.ts$/],
      ["dist/*.d.ts.map", /^dist\/[^/]+\.d\.ts\.map$/]
    ].filter(([, pattern]) => !files.some((file) => pattern.test(file))).map(([glob]) => glob),
    ...declarations.filter((file) => !files.includes(`${file}.map`)).map((file) => `${file}.map`)
  ]
  // Unpacked once, to read LICENSE and the declaration maps.
  const unpacked = join(work, "unpacked", name.replace("@", "").replace("/", "-"))
  mkdirSync(unpacked, { recursive: true })
  run("tar", ["-xzf", pkg.tarball, "-C", unpacked])
  const read = (file) => readFileSync(join(unpacked, "package", file), "utf8")
  if (files.includes("LICENSE") && read("LICENSE") !== rootLicense) {
    missing.push("LICENSE identical to the repository's")
  }
  // The packages the .d.ts import (bare specifiers, by package name), which the package must declare.
  const declared = new Set([
    name,
    ...Object.keys({ ...pkg.manifest.dependencies, ...pkg.manifest.peerDependencies })
  ])
  const imported = new Set(
    declarations.flatMap((file) =>
      [...read(file).matchAll(/(?:from |import\()"([^".][^"]*)"/g)].map(([, specifier]) =>
        specifier.split("/").slice(0, specifier.startsWith("@") ? 2 : 1).join("/")
      )
    ).filter((dep) => !dep.startsWith("node:"))
  )
  pkg.typeImports = [...imported].filter((dep) => dep !== name).sort()
  for (const dep of imported) if (!declared.has(dep)) missing.push(`a dependency on ${dep} (its .d.ts import it)`)
  // A declaration map is only useful if the sources it names ship too (go-to-definition lands in src/).
  for (const map of files.filter((file) => file.endsWith(".d.ts.map"))) {
    for (const source of JSON.parse(read(map)).sources) {
      const path = join(dirname(map), source)
      if (!files.includes(path)) missing.push(`${path} (named by ${map})`)
    }
  }
  record(
    name,
    `tarball (${files.length} files, ${declarations.length} .d.ts) holds LICENSE, README.md, dist/*.js, ` +
      `dist/*.d.ts, their maps and the sources the maps name`,
    missing.length === 0,
    `missing: ${missing.join(", ")}`
  )
}

console.log(`packed in ${seconds(started)} s`)

// --- install each package alone and run its examples ----------------------------------------------------------
const catalog = readFileSync(join(root, "pnpm-workspace.yaml"), "utf8")
const catalogVersion = (name) => new RegExp(`^\\s+"?${name}"?:\\s*(\\S+)`, "m").exec(catalog)?.[1]
const effectVersion = catalogVersion("effect")

// The @sluice packages `name` needs at run time, itself included.
const closure = (name, seen = new Set()) => {
  const pkg = byName.get(name)
  if (pkg === undefined || seen.has(name)) return seen
  seen.add(name)
  const { dependencies = {}, peerDependencies = {} } = pkg.manifest
  for (const dep of Object.keys({ ...dependencies, ...peerDependencies })) closure(dep, seen)
  return seen
}

// Every example the README embeds, with the dependencies it declares.
const examplesOf = (pkg) => {
  const readme = join(pkg.dir, "README.md")
  if (!existsSync(readme)) return []
  return [...readFileSync(readme, "utf8").matchAll(/^<!-- example: (\S+) -->/gm)].map(([, path]) => {
    const source = readFileSync(join(pkg.dir, path), "utf8")
    const deps = [...source.matchAll(/^\/\/ example-deps:(.*)$/gm)].flatMap(([, list]) => list.trim().split(/\s+/))
    return { path, deps: deps.filter((dep) => dep !== "") }
  })
}

// Whether `dep`, installed in `project`, brings its types: a `types`/`typings` field, types in its exports, a
// .d.ts beside its entry, or an @types package.
const hasTypes = (project, dep) => {
  const dir = join(project, "node_modules", dep)
  if (!existsSync(join(dir, "package.json"))) return false
  const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"))
  if (manifest.types !== undefined || manifest.typings !== undefined) return true
  if (JSON.stringify(manifest.exports ?? {}).includes(".d.")) return true
  // A .d.ts beside the JavaScript its root export or main names.
  const root = typeof manifest.exports === "string" ? manifest.exports : manifest.exports?.["."]
  const entry = typeof root === "string" ? root : root?.import ?? root?.default ?? manifest.main ?? "index.js"
  if (typeof entry === "string" && existsSync(join(dir, entry.replace(/\.[cm]?js$/, ".d.ts")))) return true
  if (existsSync(join(dir, "index.d.ts"))) return true
  const typesName = dep.startsWith("@") ? dep.slice(1).replace("/", "__") : dep
  return existsSync(join(project, "node_modules", "@types", typesName, "package.json"))
}

const checkPackage = async (pkg) => {
  const name = pkg.manifest.name
  const examples = examplesOf(pkg)
  const exampleDeps = examples.flatMap((example) => example.deps)
  const sluiceDeps = new Set([name, ...exampleDeps.filter((dep) => dep.startsWith("@sluice/"))])
  const local = [...new Set([...sluiceDeps].flatMap((dep) => [...closure(dep)]))]
  const unknown = local.filter((dep) => byName.get(dep)?.tarball === undefined)
  if (unknown.length > 0) return record(name, "install", false, `no tarball for ${unknown.join(", ")}`)
  const registry = exampleDeps.filter((dep) => !dep.startsWith("@sluice/"))
  const unpinned = registry.filter((dep) => !/^@?[^@]+@\d+\.\d+\.\d+/.test(dep))
  if (unpinned.length > 0) {
    return record(name, "example-deps", false, `pin an exact version: ${unpinned.join(", ")}`)
  }

  const project = join(work, name.replace("@", "").replace("/", "-"))
  cpSync(pkg.dir + "/examples", join(project, "examples"), { recursive: true })
  writeFileSync(
    join(project, "package.json"),
    JSON.stringify({ name: "scratch", private: true, type: "module" }, null, 2) + "\n"
  )
  const installStarted = performance.now()
  const install = await runAsync("npm", [
    "install",
    "--no-package-lock",
    "--prefer-offline",
    "--loglevel=error",
    ...local.map((dep) => byName.get(dep).tarball),
    `effect@${effectVersion}`,
    ...registry
  ], { cwd: project, timeoutMs: 240_000 })
  record(
    name,
    `npm install (${local.length} tarballs${registry.length > 0 ? ` + ${registry.join(" ")}` : ""}, ` +
      `${seconds(installStarted)} s)`,
    install.ok,
    install.out
  )
  if (!install.ok) return

  // Every package a shipped .d.ts imports must come with types in this install (its own, or @types/…): a user's
  // compiler reads them, and this project installed only what the package declares.
  const untyped = pkg.typeImports.filter((dep) => !hasTypes(project, dep))
  record(
    name,
    `the ${pkg.typeImports.length} packages its .d.ts import are installed with types`,
    untyped.length === 0,
    `no types installed for: ${untyped.join(", ")} (declare them, or @types/…, as dependencies)`
  )
  for (const example of examples) {
    const exampleStarted = performance.now()
    const result = await runAsync(pinnedNode, [example.path], { cwd: project, timeoutMs: 60_000 })
    record(
      name,
      `node ${example.path} (${seconds(exampleStarted)} s)`,
      result.ok,
      `exit ${result.status}\n${result.out}`
    )
  }
  for (const bin of Object.keys(pkg.manifest.bin ?? {})) {
    const binStarted = performance.now()
    const result = await runAsync("npx", ["--no-install", bin, "--help"], { cwd: project, timeoutMs: 60_000 })
    const ok = result.ok && result.out.length > 0
    record(name, `npx ${bin} --help (${seconds(binStarted)} s)`, ok, `exit ${result.status}\n${result.out}`)
  }
}

// Two scratch projects at a time: installs wait on the network, examples on the CPU.
const queue = selected.filter((pkg) => pkg.tarball !== undefined)
await Promise.all([0, 1].map(async () => {
  for (let pkg = queue.shift(); pkg !== undefined; pkg = queue.shift()) await checkPackage(pkg)
}))

console.log(`installed and ran in ${seconds(started)} s`)
if (keep) console.log(`scratch projects kept in ${work}`)
else rmSync(work, { recursive: true, force: true })

const failed = results.filter((result) => !result.ok).length
console.log(`pack-install took ${seconds(started)} s`)
console.log(`pack-install: ${results.length - failed} passed, ${failed} failed`)
process.exit(failed > 0 ? 1 : 0)
