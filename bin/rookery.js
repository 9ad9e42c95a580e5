#!/usr/bin/env node
// The `rookery` command runs the compiled JavaScript in dist/bundle/ (npm run build; npm install
// and npm start build it). In a source checkout whose dist/ is older than its sources, it runs the
// sources through tsx (a development dependency) instead, so nobody runs stale code.
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { builtUpToDate } from './freshness.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
if (builtUpToDate(root)) {
  await import(pathToFileURL(join(root, 'dist', 'bundle', 'cli.js')).href);
} else {
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    console.error('rookery: dist/ is missing or older than the sources: run npm run build');
    process.exit(2);
  }
  register();
  await import(pathToFileURL(join(root, 'src', 'cli.ts')).href);
}
