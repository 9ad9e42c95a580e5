// The compiled build (dist/) runs as the image and `npm start` run it: the test command builds it
// before the suite, so here it must be fresh, and it must find what it reads at run time.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs helper without type declarations
import { builtUpToDate } from '../../bin/freshness.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const built = (builtUpToDate as (root: string) => boolean)(root);

describe('the compiled build', () => {
  it.runIf(process.env.CI !== undefined || built)('is up to date with the sources when the suite runs', () => {
    expect(built).toBe(true);
  });

  it.runIf(built)('prints its version and checks a configuration from dist/ alone', () => {
    const cli = join(root, 'dist', 'src', 'cli.js');
    expect(execFileSync(process.execPath, [cli, '--version'], { encoding: 'utf8' }).trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect(execFileSync(process.execPath, [cli, 'check-config'], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } })).toContain('domain: localhost');
  });

  it.runIf(built)('carries the Lua scripts the Redis store loads', () => {
    expect(existsSync(join(root, 'dist', 'cluster', 'redis', 'scripts', 'session-claim-1.lua'))).toBe(true);
  });
});
