// In-process AttemptCounters: one bounded map; Map order doubles as least-recently-added order.
import type { AttemptCounters } from '../attempts.js';

interface Entry {
  count: number;
  expires: number;
}

export class MemoryAttemptCounters implements AttemptCounters {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly maxKeys = 100_000) {}

  async add(keys: readonly string[], windowMs: number, amount = 1): Promise<number[]> {
    const now = Date.now();
    return keys.map((key) => {
      const count = this.current(key, now) + amount;
      this.entries.delete(key);
      this.entries.set(key, { count, expires: now + windowMs });
      if (this.entries.size > this.maxKeys) {
        const oldest = this.entries.keys().next().value;
        if (oldest !== undefined) this.entries.delete(oldest);
      }
      return count;
    });
  }

  async get(keys: readonly string[]): Promise<number[]> {
    const now = Date.now();
    return keys.map((key) => this.current(key, now));
  }

  async clear(keys: readonly string[]): Promise<void> {
    for (const key of keys) this.entries.delete(key);
  }

  private current(key: string, now: number): number {
    const entry = this.entries.get(key);
    if (!entry) return 0;
    if (entry.expires <= now) {
      this.entries.delete(key);
      return 0;
    }
    return entry.count;
  }
}
