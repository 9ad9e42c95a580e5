// Compiles src/, cluster/ and metrics/ to dist/ and copies what the compiled code reads at run
// time (the Lua scripts). `--if-stale` builds only when a source is newer than the last build,
// and quietly does nothing where TypeScript is not installed (a production install).
// Then bundles the command line (bundle.mjs): loading a few large files instead of hundreds of
// small ones is what makes `rookery user list` quick.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { builtUpToDate, stampPath } from '../bin/freshness.mjs';
import { bundle } from './bundle.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const stamp = stampPath(root);
const ifStale = process.argv.includes('--if-stale');

if (ifStale && builtUpToDate(root)) process.exit(0);

let tsc;
try {
  tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
} catch {
  if (ifStale) process.exit(0);
  console.error('rookery build: TypeScript is not installed: run npm install (with the dev dependencies)');
  process.exit(1);
}

const started = Date.now();
if (process.stdout.isTTY) process.stdout.write('building dist/ … ');
try {
  execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
} catch {
  console.error('rookery build: TypeScript reported the errors above; dist/ was not updated');
  process.exit(1);
}
const scripts = join('cluster', 'redis', 'scripts');
mkdirSync(join(root, 'dist', scripts), { recursive: true });
cpSync(join(root, scripts), join(root, 'dist', scripts), { recursive: true });
try {
  await bundle(root);
} catch (error) {
  console.error(`rookery build: bundling dist/src/cli.js failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
writeFileSync(stamp, `${new Date().toISOString()}\n`);
if (process.stdout.isTTY) process.stdout.write(`done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
