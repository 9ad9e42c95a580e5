// A token bucket: `rate` tokens a second flow in, at most `burst` are kept. The c2s and s2s read
// paths spend bytes and elements from it (as Prosody's mod_limits and util.throttle do); connection
// admission spends one per new connection. The clock is monotonic: wall-clock jumps neither
// grant nor withhold tokens.
import { performance } from 'node:perf_hooks';

export type Clock = () => number;

export const monotonicMs: Clock = () => performance.now();

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    /** Tokens added per second; must be positive. */
    readonly rate: number,
    /** Capacity, and the amount available at first. */
    readonly burst: number,
    private readonly now: Clock = monotonicMs,
  ) {
    if (!(rate > 0) || !(burst >= 1)) throw new RangeError('a token bucket needs rate > 0 and burst >= 1');
    this.tokens = burst;
    this.last = now();
  }

  /** Takes up to `wanted` whole tokens; returns how many it took. */
  take(wanted: number): number {
    this.refill();
    const taken = Math.min(wanted, Math.floor(this.tokens));
    if (taken > 0) this.tokens -= taken;
    return taken;
  }

  /** Milliseconds until `wanted` tokens are there (capped at the burst, which is all there can be). */
  msUntil(wanted: number): number {
    this.refill();
    const missing = Math.min(wanted, this.burst) - this.tokens;
    return missing <= 0 ? 0 : Math.ceil((missing * 1000) / this.rate);
  }

  /** The bucket is full again: it remembers nothing a fresh one would not. */
  get full(): boolean {
    this.refill();
    return this.tokens >= this.burst;
  }

  private refill(): void {
    const now = this.now();
    const elapsed = now - this.last;
    this.last = now;
    if (elapsed > 0) this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.rate) / 1000);
  }
}

/** A bucket for a configured rate, or none when the rate is 0 (unlimited). */
export function bucketFor(ratePerSecond: number, burst: number, now?: Clock): TokenBucket | undefined {
  return ratePerSecond > 0 ? new TokenBucket(ratePerSecond, burst, now) : undefined;
}
