// Rewrites the Configuration table of README.md from the settings catalogue (src/config/schema.ts).
// test/unit/config-docs.test.ts fails when the README differs from what this writes.
import { readFileSync, writeFileSync } from 'node:fs';
import { withSettingsTable } from '../src/config/describe.js';

const readme = new URL('../README.md', import.meta.url);
const before = readFileSync(readme, 'utf8');
const after = withSettingsTable(before);
if (after !== before) writeFileSync(readme, after);
console.log(after === before ? 'README.md is up to date' : 'README.md: Configuration table rewritten');
