// Slows down repeated authentication failures per address and per account (RFC 6120 §13.9.2:
// "limit the number of authentication attempts"). Memory is bounded: the oldest entries go first.

interface Failures {
  count: number;
  last: number;
}

export class AuthThrottle {
  private readonly byKey = new Map<string, Failures>();

  constructor(
    private readonly freeFailures: number,
    private readonly maxEntries = 50_000,
    /** Failures older than this are forgotten. */
    private readonly windowMs = 10 * 60_000,
    private readonly baseDelayMs = 250,
    private readonly maxDelayMs = 8_000,
  ) {}

  /** Milliseconds to wait before answering an attempt from this address or for this account. */
  delay(address: string, user?: string): number {
    const count = Math.max(this.count(`a:${address}`), user === undefined ? 0 : this.count(`u:${user}`));
    const excess = count - this.freeFailures;
    if (excess < 0) return 0;
    return Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(excess, 16));
  }

  fail(address: string, user?: string): void {
    this.bump(`a:${address}`);
    if (user !== undefined) this.bump(`u:${user}`);
  }

  succeed(address: string, user: string): void {
    this.byKey.delete(`a:${address}`);
    this.byKey.delete(`u:${user}`);
  }

  private count(key: string): number {
    const entry = this.byKey.get(key);
    if (!entry) return 0;
    if (Date.now() - entry.last > this.windowMs) {
      this.byKey.delete(key);
      return 0;
    }
    return entry.count;
  }

  private bump(key: string): void {
    const count = this.count(key) + 1;
    this.byKey.delete(key); // re-insert: Map order doubles as least-recently-failed order
    this.byKey.set(key, { count, last: Date.now() });
    if (this.byKey.size > this.maxEntries) {
      const oldest = this.byKey.keys().next().value;
      if (oldest !== undefined) this.byKey.delete(oldest);
    }
  }
}
