// The data directory checks of the durable store (src/state/durable/database.ts), in process.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { DataDirError } from '../../src/errors.js';
import { createDurableBackend, DATA_FORMAT } from '../../src/state/durable/index.js';

const INDEX = new URL('../../src/state/durable/index.ts', import.meta.url).pathname;

/** Writes one more blocklist item in another process, which is then killed with SIGKILL: the WAL stays. */
function writeAndKill(dataDir: string): Promise<void> {
  const script = `import { createDurableBackend } from ${JSON.stringify(INDEX)};
    const backend = createDurableBackend(${JSON.stringify(dataDir)});
    await backend.blocklists.add('alice@localhost', ['late@example.net']);
    process.stdout.write('written\\n');
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('written')) child.kill('SIGKILL');
    });
    child.once('exit', (_code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error('the writer exited by itself'))));
  });
}

function hashes(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).map((name) => [name, createHash('sha256').update(readFileSync(join(dir, name))).digest('hex')]));
}
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

  it('refuses a damaged database that a killed node left with its WAL, and changes neither file', async () => {
    const dataDir = fresh('damaged-with-wal');
    const first = createDurableBackend(dataDir);
    for (let i = 0; i < 300; i++) await first.accounts.create(`user${i}@localhost`, credentialsFor(`user${i}`));
    await first.close();
    await writeAndKill(dataDir);
    expect(readdirSync(dataDir).sort()).toStrictEqual(['FORMAT', 'rookery.db', 'rookery.db-wal']);
    // Garbage over the account table's pages (the database's first page, its header, stays).
    const fd = openSync(join(dataDir, 'rookery.db'), 'r+');
    writeSync(fd, Buffer.alloc(4096 * 8, 0x5a), 0, 4096 * 8, 4096 * 2);
    closeSync(fd);
    const before = hashes(dataDir);
    expect(refusal(dataDir)).toMatchObject({ code: 'ROOKERY_DATA_DIR_CORRUPT', message: expect.stringContaining(`data directory ${dataDir} is damaged and was left untouched: rookery.db`) });
    expect(hashes(dataDir)).toStrictEqual(before);
  }, 60_000);

  it('recovers what a killed node committed, from its WAL', async () => {
    const dataDir = fresh('killed');
    const first = createDurableBackend(dataDir);
    await first.blocklists.add('alice@localhost', ['early@example.net']);
    await first.close();
    await writeAndKill(dataDir);
    const second = createDurableBackend(dataDir);
    await expect(second.blocklists.get('alice@localhost')).resolves.toStrictEqual(['early@example.net', 'late@example.net']);
    await second.close();
  }, 60_000);

  it('refuses an existing directory that even root cannot write to', () => {
    expect(refusal('/proc/self')).toMatchObject({ code: 'ROOKERY_DATA_DIR_UNUSABLE', message: expect.stringMatching(/^data directory \/proc\/self is not a writable directory \(/) });
  });
});
