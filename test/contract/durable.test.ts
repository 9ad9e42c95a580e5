// The durable embedded backend (SQLite in a data directory) against every contract. Each
// backend the suites open gets a directory of its own under this file's temporary directory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe } from 'vitest';
import { createDurableBackend } from '../../src/state/durable/index.js';
import { allContracts } from './all.js';

describe('durable backend', () => {
  const root = mkdtempSync(join(tmpdir(), 'rookery-contract-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  allContracts(async () => createDurableBackend(mkdtempSync(join(root, 'data-'))));
});
