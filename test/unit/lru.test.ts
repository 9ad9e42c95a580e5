// Lru: bounded, and what it forgets first is what was used least recently (to within half its
// capacity, since a hit moves an entry only once it has aged past the newer half).
import { describe, expect, it } from 'vitest';
import { Lru } from '../../src/state/cached/lru.js';

describe('Lru', () => {
  it('never holds more entries than its capacity, forgetting the oldest first', () => {
    const lru = new Lru<number, string>(4);
    for (let i = 0; i < 10; i++) lru.set(i, `v${i}`);
    expect(lru.size).toBe(4);
    expect([0, 1, 2, 3, 4, 5].map((key) => lru.get(key))).toEqual([undefined, undefined, undefined, undefined, undefined, undefined]);
    expect([6, 7, 8, 9].map((key) => lru.get(key))).toEqual(['v6', 'v7', 'v8', 'v9']);
  });

  it('keeps an entry that keeps being read while newer ones come and go', () => {
    const lru = new Lru<string, number>(10);
    lru.set('hot', 1);
    for (let i = 0; i < 1000; i++) {
      lru.set(`cold${i}`, i);
      expect(lru.get('hot')).toBe(1);
    }
    expect(lru.size).toBe(10);
  });

  it('forgets an entry read long ago before entries written since', () => {
    const lru = new Lru<string, number>(8);
    lru.set('old', 0);
    expect(lru.get('old')).toBe(0);
    for (let i = 0; i < 8; i++) lru.set(`new${i}`, i);
    expect(lru.get('old')).toBeUndefined();
    expect(lru.get('new0')).toBe(0);
  });

  it('answers a replaced value, and nothing for a deleted or cleared key', () => {
    const lru = new Lru<string, number>(3);
    lru.set('a', 1);
    lru.set('a', 2);
    expect(lru.get('a')).toBe(2);
    expect(lru.size).toBe(1);
    lru.delete('a');
    expect(lru.get('a')).toBeUndefined();
    lru.set('b', 3);
    lru.clear();
    expect(lru.get('b')).toBeUndefined();
    expect(lru.size).toBe(0);
  });
});
