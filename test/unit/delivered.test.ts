// The record of stanza identities a resumable stream was given (src/state/delivered.ts): a copy
// that comes again is dropped, one that overtook its predecessor within the window is not.
import { describe, expect, it } from 'vitest';
import { Delivered } from '../../src/state/delivered.js';

describe('Delivered', () => {
  it('admits each identity once', () => {
    const delivered = new Delivered();
    expect(delivered.admit('t:1')).toBe(true);
    expect(delivered.admit('t:2')).toBe(true);
    expect(delivered.admit('t:1')).toBe(false);
    expect(delivered.admit('t:2')).toBe(false);
    expect(delivered.admit('u:1')).toBe(true);
    expect(delivered.admit(undefined)).toBe(true);
    expect(delivered.admit(undefined)).toBe(true);
  });

  it('admits a stanza that was overtaken, within 32 of the highest, once', () => {
    const delivered = new Delivered();
    for (const seq of [3, 10, 42]) expect(delivered.admit(`t:${seq}`)).toBe(true);
    expect(delivered.admit('t:10')).toBe(false);
    expect(delivered.admit('t:11')).toBe(true);
    expect(delivered.admit('t:11')).toBe(false);
    // 3 is 39 below the highest: too old to tell, taken as given.
    expect(delivered.admit('t:3')).toBe(false);
    expect(delivered.admit('t:74')).toBe(true);
    expect(delivered.admit('t:42')).toBe(false);
    expect(delivered.admit('t:43')).toBe(true);
  });

  it('carries over to a new owner in its text form', () => {
    const first = new Delivered();
    for (const seq of [1, 2, 5]) first.admit(`t:${seq}`);
    const second = new Delivered(first.entries());
    expect([1, 2, 3, 4, 5, 6].map((seq) => second.admit(`t:${seq}`))).toEqual([false, false, true, true, false, true]);
  });
});
