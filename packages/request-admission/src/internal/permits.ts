/**
 * A permit count: what a semaphore is when no fiber ever waits on it. Waiters park in our own queue
 * (`handoff.ts`), so taking, returning and resizing are plain arithmetic inside a synchronous step —
 * no effect to build and run per lease.
 */
export class Permits {
  taken = 0
  constructor(public permits: number) {}

  /** Takes one permit if one is free. After a shrink, `taken` may exceed `permits` until leases return. */
  take(): boolean {
    if (this.taken >= this.permits) return false
    this.taken++
    return true
  }

  release(): void {
    this.taken--
  }

  resize(permits: number): void {
    this.permits = permits
  }
}
