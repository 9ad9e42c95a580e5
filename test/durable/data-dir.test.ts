// The data directory checks of the durable store (src/state/durable/database.ts), in process.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { DataDirError } from '../../src/errors.js';
import { createDurableBackend, DATA_FORMAT } from '../../src/state/durable/index.js';
import { credentialsFor } from '../contract/helpers.js';

describe('the data directory of the durable store', () => {
  const root = mkdtempSync(join(tmpdir(), 'rookery-datadir-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const fresh = (name: string): string => join(root, name);

  function refusal(dataDir: string): DataDirError {
    try {
      createDurableBackend(dataDir);
    } catch (error) {
      if (error instanceof DataDirError) return error;
      throw error;
    }
    throw new Error('the directory was accepted');
  }

  it('creates a missing directory with a FORMAT file and a database of the current format', async () => {
    const dataDir = join(fresh('new'), 'nested');
    await createDurableBackend(dataDir).close();
    expect(readFileSync(join(dataDir, 'FORMAT'), 'utf8')).toBe(`rookery-data-format ${DATA_FORMAT}\n`);
    // Closed cleanly: the WAL was checkpointed into the database and removed.
    expect(readdirSync(dataDir).sort()).toStrictEqual(['FORMAT', 'rookery.db']);
    const db = new Database(join(dataDir, 'rookery.db'), { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(DATA_FORMAT);
    db.close();
  });

  it('finds what it stored after being closed and opened again', async () => {
    const dataDir = fresh('reopen');
    const first = createDurableBackend(dataDir);
    await first.accounts.create('alice@localhost', credentialsFor('alice'));
    await first.blocklists.add('alice@localhost', ['spam@example.net']);
    await first.close();
    const second = createDurableBackend(dataDir);
    await expect(second.accounts.credentials('alice@localhost')).resolves.toStrictEqual(credentialsFor('alice'));
    await expect(second.blocklists.get('alice@localhost')).resolves.toStrictEqual(['spam@example.net']);
    await second.close();
  });

  it('refuses a second opening while one store holds the directory', async () => {
    const dataDir = fresh('held');
    const holder = createDurableBackend(dataDir);
    try {
      expect(refusal(dataDir)).toMatchObject({ code: 'ROOKERY_DATA_DIR_IN_USE', message: `data directory ${dataDir} is in use by another process` });
    } finally {
      await holder.close();
    }
  });

  it('refuses a database whose schema is newer than this release', async () => {
    const dataDir = fresh('newer-schema');
    await createDurableBackend(dataDir).close();
    const db = new Database(join(dataDir, 'rookery.db'));
    db.pragma(`user_version = ${DATA_FORMAT + 1}`);
    db.close();
    expect(refusal(dataDir)).toMatchObject({ code: 'ROOKERY_DATA_DIR_NEWER' });
  });

  it('refuses a FORMAT file that holds no format version', () => {
    const dataDir = fresh('garbled-format');
    mkdirSync(dataDir);
    writeFileSync(join(dataDir, 'FORMAT'), 'garbage\n');
    expect(refusal(dataDir)).toMatchObject({
      code: 'ROOKERY_DATA_DIR_CORRUPT',
      message: `data directory ${dataDir} is damaged and was left untouched: FORMAT does not hold a format version`,
    });
    expect(existsSync(join(dataDir, 'rookery.db'))).toBe(false);
  });

  it('refuses a database without its FORMAT file, and a FORMAT file without its database', async () => {
    const orphan = fresh('orphan-db');
    await createDurableBackend(orphan).close();
    rmSync(join(orphan, 'FORMAT'));
    expect(refusal(orphan).message).toBe(`data directory ${orphan} is damaged and was left untouched: rookery.db exists but FORMAT does not`);
    expect(existsSync(join(orphan, 'FORMAT'))).toBe(false);

    const empty = fresh('no-db');
    await createDurableBackend(empty).close();
    rmSync(join(empty, 'rookery.db'));
    expect(refusal(empty).message).toBe(`data directory ${empty} is damaged and was left untouched: FORMAT exists but rookery.db does not`);
    expect(existsSync(join(empty, 'rookery.db'))).toBe(false);
  });

  it('refuses an existing directory that even root cannot write to', () => {
    expect(refusal('/proc/self')).toMatchObject({ code: 'ROOKERY_DATA_DIR_UNUSABLE', message: expect.stringMatching(/^data directory \/proc\/self is not a writable directory \(/) });
  });
});
