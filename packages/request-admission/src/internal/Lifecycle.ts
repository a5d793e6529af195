/**
 * Whether the controller still admits: once shut down, it refuses new acquires and every queued waiter has been
 * failed; held leases can still be released.
 */
export class Lifecycle {
  shutdown = false
}
