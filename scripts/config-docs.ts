// Rewrites what is generated from the settings catalogue (src/config/schema.ts): the Configuration
// table of README.md and rookery.example.yaml. test/unit/config-docs.test.ts fails when either
// differs from what this writes.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { withSettingsTable } from '../src/config/describe.js';
import { EXAMPLE_FILE, exampleConfig } from './config-example.js';

const readme = new URL('../README.md', import.meta.url);
const before = readFileSync(readme, 'utf8');
const after = withSettingsTable(before);
if (after !== before) writeFileSync(readme, after);
console.log(after === before ? 'README.md is up to date' : 'README.md: Configuration table rewritten');

const example = new URL(`../${EXAMPLE_FILE}`, import.meta.url);
const oldExample = existsSync(example) ? readFileSync(example, 'utf8') : undefined;
const newExample = exampleConfig();
if (newExample !== oldExample) writeFileSync(example, newExample);
console.log(newExample === oldExample ? `${EXAMPLE_FILE} is up to date` : `${EXAMPLE_FILE} rewritten`);
