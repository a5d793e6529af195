// README examples are files that tests run: a README embeds `<package>/examples/<name>.ts` verbatim between
//
//   <!-- example: examples/<name>.ts -->
//
//   ```ts
//   …the file, verbatim…
//   ```
//
//   <!-- /example -->
//
// `--check` (part of `pnpm lint`) fails naming every README whose block differs from its file (or whose file is
// missing); `--write` (`pnpm readme:sync`) rewrites the blocks from the files. Paths are relative to the README.
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { dirname, join, relative } from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
const mode = process.argv[2]
if (mode !== "--check" && mode !== "--write") {
  console.error("usage: node scripts/readme-examples.mjs --check | --write")
  process.exit(2)
}

const readmes = [
  join(root, "README.md"),
  ...["packages", "apps"].flatMap((group) =>
    existsSync(join(root, group))
      ? readdirSync(join(root, group)).map((name) => join(root, group, name, "README.md"))
      : []
  )
].filter((file) => existsSync(file))

// One block: the opening marker at the start of a line, a ```ts fence, anything, the closing fence and marker (with or without the blank
// lines the Markdown formatter puts around a fence).
const block = /^<!-- example: (\S+) -->\n\n?```ts\n([\s\S]*?)```\n\n?<!-- \/example -->/gm

const problems = []
let blocks = 0
for (const readme of readmes) {
  const text = readFileSync(readme, "utf8")
  const shown = relative(root, readme)
  const updated = text.replace(block, (whole, path, body) => {
    blocks++
    const file = join(dirname(readme), path)
    if (!existsSync(file)) {
      problems.push(`${shown}: embeds ${path}, which does not exist`)
      return whole
    }
    const source = readFileSync(file, "utf8")
    const expected = source.endsWith("\n") ? source : source + "\n"
    if (body === expected) return whole
    if (mode === "--check") problems.push(`${shown}: the block of ${path} differs from ${relative(root, file)}`)
    return `<!-- example: ${path} -->\n\n\`\`\`ts\n${expected}\`\`\`\n\n<!-- /example -->`
  })
  // An opening marker the pattern did not match (no ```ts fence right after it, or no closing marker).
  const opened = (text.match(/^<!-- example: /gm) ?? []).length
  const matched = [...text.matchAll(block)].length
  if (opened !== matched) {
    problems.push(
      `${shown}: ${opened - matched} example marker(s) not followed by a \`\`\`ts block and <!-- /example -->`
    )
  }
  if (mode === "--write" && updated !== text) {
    writeFileSync(readme, updated)
    console.log(`updated ${shown}`)
  }
}

if (problems.length > 0) {
  for (const problem of problems) console.error(problem)
  console.error(mode === "--check" ? "README examples differ from their files: run `pnpm readme:sync`" : "")
  process.exit(1)
}
if (mode === "--check") console.log(`README examples: ${blocks} blocks match their files`)
