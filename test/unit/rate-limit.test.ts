import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bucketFor, TokenBucket } from '../../src/core/rate-limit.js';

/** A clock the test moves by hand. */
function manualClock(): { now: () => number; advance(ms: number): void } {
  let t = 1_000;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('TokenBucket', () => {
  it('starts full and gives out at most its burst at once', () => {
    const clock = manualClock();
    const bucket = new TokenBucket(10, 25, clock.now);
    expect(bucket.take(20)).toBe(20);
    expect(bucket.take(20)).toBe(5);
    expect(bucket.take(1)).toBe(0);
  });

  it('refills at its rate and never beyond its burst', () => {
    const clock = manualClock();
    const bucket = new TokenBucket(10, 25, clock.now);
    bucket.take(25);
    clock.advance(500);
    expect(bucket.take(100)).toBe(5);
    clock.advance(60_000);
    expect(bucket.full).toBe(true);
    expect(bucket.take(100)).toBe(25);
  });

  it('says how long until an amount is there, capped at the burst', () => {
    const clock = manualClock();
    const bucket = new TokenBucket(1000, 100, clock.now);
    expect(bucket.msUntil(50)).toBe(0);
    bucket.take(100);
    expect(bucket.msUntil(50)).toBe(50);
    expect(bucket.msUntil(10_000)).toBe(100);
    clock.advance(50);
    expect(bucket.take(50)).toBe(50);
  });

  it('keeps fractions of a token between takes', () => {
    const clock = manualClock();
    const bucket = new TokenBucket(1, 1, clock.now);
    bucket.take(1);
    for (let i = 0; i < 4; i++) {
      clock.advance(250);
      if (i < 3) expect(bucket.take(1)).toBe(0);
    }
    expect(bucket.take(1)).toBe(1);
  });

  it('never lets more through than burst + rate × elapsed time', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 5000 }), fc.array(fc.tuple(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 6000 })), { maxLength: 50 }), (rate, burst, steps) => {
        const clock = manualClock();
        const bucket = new TokenBucket(rate, burst, clock.now);
        let taken = 0;
        let elapsed = 0;
        for (const [ms, wanted] of steps) {
          clock.advance(ms);
          elapsed += ms;
          const got = bucket.take(wanted);
          expect(got).toBeGreaterThanOrEqual(0);
          expect(got).toBeLessThanOrEqual(wanted);
          taken += got;
        }
        expect(taken).toBeLessThanOrEqual(burst + (rate * elapsed) / 1000);
      }),
    );
  });

  it('refuses a rate or burst that cannot work', () => {
    expect(() => new TokenBucket(0, 10)).toThrow(RangeError);
    expect(() => new TokenBucket(10, 0)).toThrow(RangeError);
  });

  it('is not made for a rate of 0, which means unlimited', () => {
    expect(bucketFor(0, 100)).toBeUndefined();
    expect(bucketFor(5, 100)).toBeInstanceOf(TokenBucket);
  });
});
