// Loaded with `node --import` into a CLI process under test: when the process exits, it prints its peak resident
// set size (the kernel's own high-water mark, so no sampling can miss a spike) as the last line on stderr.
process.on("exit", () => {
  process.stderr.write(`\npeak-rss-kb ${process.resourceUsage().maxRSS}\n`)
})
