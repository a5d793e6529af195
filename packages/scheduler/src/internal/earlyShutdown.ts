/**
 * The early-shutdown gate: a sliding window over the last `window` task outcomes, where only non-retryable
 * failures count as failures (retryable errors never enter the window). Trips when the window is full and the
 * failure share reaches `rate`. A disabled gate records nothing and never trips.
 */
export class EarlyShutdownWindow {
  private readonly ring: Uint8Array
  private next = 0
  private filled = 0
  /** Failures in the window. */
  failures = 0
  tripped = false

  constructor(private readonly options: { readonly window: number; readonly rate: number } | false) {
    this.ring = new Uint8Array(options === false ? 0 : options.window)
  }

  get size(): number {
    return this.ring.length
  }

  record(failure: boolean): void {
    if (this.options === false || this.tripped) return
    if (this.filled === this.ring.length) this.failures -= this.ring[this.next]!
    else this.filled++
    this.ring[this.next] = failure ? 1 : 0
    this.failures += failure ? 1 : 0
    this.next = (this.next + 1) % this.ring.length
    if (this.filled === this.ring.length && this.failures / this.ring.length >= this.options.rate) this.tripped = true
  }
}
