// Slows down repeated authentication failures per address and per account (RFC 6120 §13.9.2:
// "limit the number of authentication attempts"). The failures are counted in the shared
// AttemptCounters, so the bound holds for the whole cluster, not once per node.
import type { AttemptCounters } from '../state/attempts.js';

export class AuthThrottle {
  constructor(
    private readonly counters: AttemptCounters,
    private readonly freeFailures: number,
    /** Failures older than this are forgotten. */
    private readonly windowMs = 10 * 60_000,
    private readonly baseDelayMs = 250,
    private readonly maxDelayMs = 8_000,
  ) {}

  /** Failures counted for the address so far (read once per connection). */
  async addressFailures(address: string): Promise<number> {
    // Throttling is no reason to refuse a login: an unreadable count is none.
    const [count] = await this.counters.get([addressKey(address)]).catch(() => [0]);
    return count ?? 0;
  }

  /** Milliseconds to wait before answering an attempt after `failures` failures. */
  delayFor(failures: number): number {
    const excess = failures - this.freeFailures;
    if (excess < 0) return 0;
    return Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(excess, 16));
  }

  /** Counts a failure for the address and the account; returns the address's failures and the delay before answering. */
  async fail(address: string, user?: string): Promise<{ addressFailures: number; delayMs: number }> {
    const keys = user === undefined ? [addressKey(address)] : [addressKey(address), userKey(user)];
    const counts = await this.counters.add(keys, this.windowMs).catch(() => [0]);
    return { addressFailures: counts[0] ?? 0, delayMs: this.delayFor(Math.max(0, ...counts)) };
  }

  /** A success after failures forgets them. */
  async succeed(address: string, user: string): Promise<void> {
    await this.counters.clear([addressKey(address), userKey(user)]).catch(() => {});
  }
}

function addressKey(address: string): string {
  return `a:${address}`;
}

function userKey(user: string): string {
  return `u:${user}`;
}
