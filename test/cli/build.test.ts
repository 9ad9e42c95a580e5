// The compiled build (dist/) runs as the image and `npm start` run it: the test command builds it
// before the suite, so here it must be fresh, and it must find what it reads at run time.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
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

  it.runIf(built)('prints its version and checks a configuration from the bundle alone', () => {
    const cli = join(root, 'dist', 'bundle', 'cli.js');
    expect(execFileSync(process.execPath, [cli, '--version'], { encoding: 'utf8' }).trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect(execFileSync(process.execPath, [cli, 'check-config'], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } })).toContain('domain: localhost');
  });

  it.runIf(built)('carries the Lua scripts the Redis store loads, beside the compiled and the bundled code', () => {
    const scripts = readdirSync(join(root, 'cluster', 'redis', 'scripts'));
    expect(scripts).toContain('session-claim-1.lua');
    for (const script of scripts) {
      expect(existsSync(join(root, 'dist', 'cluster', 'redis', 'scripts', script))).toBe(true);
      expect(existsSync(join(root, 'dist', 'bundle', 'scripts', script))).toBe(true);
    }
  });

  it.runIf(built)('explains a bad setting in English from the bundle (zod keeps only its English messages there)', () => {
    const cli = join(root, 'dist', 'bundle', 'cli.js');
    let output = '';
    try {
      execFileSync(process.execPath, [cli, 'check-config'], { encoding: 'utf8', stdio: 'pipe', env: { PATH: process.env.PATH ?? '', ROOKERY_C2S_PORT: 'many' } });
    } catch (error) {
      output = String((error as { stderr?: string }).stderr);
    }
    expect(output).toMatch(/ROOKERY_C2S_PORT|c2sPort/);
    expect(output).toMatch(/expected|number|invalid/i);
  });
});
