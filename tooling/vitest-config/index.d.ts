import type { UserConfig } from "vitest/config"
export declare const sluiceVitestConfig: (overrides?: UserConfig) => UserConfig
