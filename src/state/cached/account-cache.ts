// A per-account read cache kept coherent by a ChangeFeed. A read that overlaps a change notice
// is not cached (each key carries an epoch that every notice bumps), so a stale answer from
// before the notice can never stay in the cache.
import { Lru } from './lru.js';

export class AccountCache<V> {
  private readonly values: Lru<string, V>;
  private readonly epochs = new Map<string, number>();
  private generation = 0;

  constructor(capacity: number) {
    this.values = new Lru(capacity);
  }

  /** The cached value, if any, without loading. */
  peek(key: string): V | undefined {
    return this.values.get(key);
  }

  async read(key: string, load: () => Promise<V>): Promise<V> {
    const cached = this.values.get(key);
    if (cached !== undefined) return cached;
    const epoch = this.epochs.get(key) ?? 0;
    const generation = this.generation;
    const value = await load();
    if ((this.epochs.get(key) ?? 0) === epoch && this.generation === generation) this.values.set(key, value);
    return value;
  }

  invalidate(key: string): void {
    this.values.delete(key);
    // Epochs only matter while a read is in flight; a small map of recent ones is enough.
    this.epochs.set(key, (this.epochs.get(key) ?? 0) + 1);
    if (this.epochs.size > 10_000) {
      this.epochs.clear();
      this.generation += 1; // reads in flight across the clear are not cached either
    }
  }

  clear(): void {
    this.values.clear();
    this.generation += 1;
  }
}
