// The embedded store's data directory in the configuration (doc/embedded-store.md).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';

describe('the data directory setting', () => {
  it('defaults to ./data', () => {
    expect(loadConfig({ env: {} }).dataDir).toBe('./data');
  });

  it('is read from ROOKERY_DATA_DIR, which wins over the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rookery-config-'));
    try {
      const file = join(dir, 'rookery.yaml');
      writeFileSync(file, 'dataDir: /srv/rookery/from-file\n');
      expect(loadConfig({ file, env: {} }).dataDir).toBe('/srv/rookery/from-file');
      expect(loadConfig({ file, env: { ROOKERY_DATA_DIR: '/srv/rookery/from-env' } }).dataDir).toBe('/srv/rookery/from-env');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
