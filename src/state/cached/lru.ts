// A bounded map that forgets the least recently used entries first.
//
// The Map's insertion order is the recency order. A hit moves its entry to the newest end only
// when the entry is no longer among the newest half (its stamp is older than capacity / 2 moves):
// moving on every hit (a delete and a set) cost more than the lookup itself on the per-stanza
// paths. An entry used since its last move is therefore at worst in the newer half, which is
// evicted after the older half: the order of eviction is least recently used to within half the
// capacity.

interface Entry<V> {
  value: V;
  stamp: number;
}

export class Lru<K, V> {
  private readonly map = new Map<K, Entry<V>>();
  /** Counts insertions and moves; an entry's stamp is the clock when it was put at the newest end. */
  private clock = 0;

  constructor(private readonly capacity: number) {}

  get(key: K): V | undefined {
    const entry = this.map.get(key);
    if (entry === undefined) return undefined;
    if (this.clock - entry.stamp > this.capacity / 2) {
      this.map.delete(key);
      entry.stamp = ++this.clock;
      this.map.set(key, entry);
    }
    return entry.value;
  }

  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, { value, stamp: ++this.clock });
    if (this.map.size > this.capacity) {
      const oldest = this.map.keys().next();
      if (!oldest.done) this.map.delete(oldest.value);
    }
  }

  delete(key: K): void {
    this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
  }

  get size(): number {
    return this.map.size;
  }
}
