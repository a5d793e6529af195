// `pnpm start`: the main job. Until the reference app lands this only says what is coming.
console.log("sluice: the reference app (`sluice generate examples/quickstart.yaml`) is not built yet.")
console.log("Run `pnpm test` to build and test every package.")
