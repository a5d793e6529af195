import { sluiceVitestConfig } from "@sluice/vitest-config"

export default sluiceVitestConfig()
