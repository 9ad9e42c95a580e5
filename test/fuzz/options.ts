// Seed and scale of the fuzz runs. Fixed by default so CI failures reproduce; FUZZ_SEED picks
// another seed and FUZZ_SCALE multiplies every run count (FUZZ_SCALE=10 for a long local run).
// fast-check prints the seed and path of any failure; rerun with that FUZZ_SEED.
import type { Parameters } from 'fast-check';

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got ${raw}`);
  return value;
}

export const FUZZ_SEED = Math.trunc(envNumber('FUZZ_SEED', 20240611));
export const FUZZ_SCALE = envNumber('FUZZ_SCALE', 1);

/** A run count scaled by FUZZ_SCALE (never below 1). */
export function runs(base: number): number {
  return Math.max(1, Math.round(base * FUZZ_SCALE));
}

/** fast-check parameters: the shared seed, offset per property so properties do not share inputs. */
export function params<T>(numRuns: number, offset: number, extra: Parameters<T> = {}): Parameters<T> {
  return { seed: FUZZ_SEED + offset, numRuns: runs(numRuns), ...extra };
}
