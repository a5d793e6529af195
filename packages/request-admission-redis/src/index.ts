/**
 * `@sluice/request-admission-redis`: many workers share one provider's adaptive capacity through Redis.
 */
export { budgetKey, type BudgetRates } from "./budgetScripts.js"
export { SharedAdmissionConfig, type SharedAdmissionConfigInput } from "./config.js"
export {
  SharedAdmissionConfigError,
  SharedAdmissionLeaseLost,
  SharedAdmissionShutdown,
  SharedAdmissionUnavailable
} from "./errors.js"
export { type Grant, type LeaseStore, makeLeaseStore, type Released, type SharedState } from "./LeaseStore.js"
export { type AimdParams, type ResourceKeys, resourceKeys } from "./scripts.js"
export {
  make as makeSharedAdmission,
  SharedAdmission,
  type SharedAdmissionShape,
  type SharedLease,
  type SharedReleaseResult
} from "./SharedAdmission.js"
export { type BudgetCharge, makeSharedBudget, type SharedBudgetLevel, type SharedBudgetShape } from "./SharedBudget.js"
export {
  make as makeSharedRequestAdmission,
  type SharedAcquireError,
  SharedRequestAdmission,
  type SharedRequestAdmissionShape
} from "./SharedRequestAdmission.js"
