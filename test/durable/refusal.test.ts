// `rookery start` refuses a data directory it cannot use with one line on stderr, exit code 1,
// and leaves every byte of it as it was. (The tests run as root, for whom permission bits stop
// nothing: an unwritable directory here is a path that is a file, or lies below one.)
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDurableBackend, DATA_FORMAT } from '../../src/state/durable/index.js';
import { credentialsFor } from '../contract/helpers.js';
import { nodeEnv, rookery } from './node-process.js';

/** Every file under `dir` (or the file `dir`) with a hash of its bytes. */
function snapshot(path: string): Record<string, string> {
  const hash = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');
  try {
    return Object.fromEntries(readdirSync(path).map((name) => [name, hash(join(path, name))]));
  } catch {
    return { '.': hash(path) };
  }
}

async function start(dataDir: string): Promise<{ code: number | null; stderr: string }> {
  const run = await rookery(['start'], await nodeEnv(dataDir));
  return { code: run.code, stderr: run.stderr };
}

describe('rookery start on a data directory it cannot use', () => {
  const root = mkdtempSync(join(tmpdir(), 'rookery-refusal-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('refuses a directory written in a newer data format', async () => {
    const dataDir = join(root, 'newer');
    mkdirSync(dataDir);
    writeFileSync(join(dataDir, 'FORMAT'), `rookery-data-format ${DATA_FORMAT + 1}\n`);
    const before = snapshot(dataDir);
    await expect(start(dataDir)).resolves.toStrictEqual({
      code: 1,
      stderr: `rookery: cannot start: data directory ${dataDir} has data format ${DATA_FORMAT + 1}, newer than the ${DATA_FORMAT} this release reads; run a newer Rookery\n`,
    });
    expect(snapshot(dataDir)).toStrictEqual(before);
  }, 60_000);

  it('refuses a directory whose database file is damaged, and leaves it as it was', async () => {
    const dataDir = join(root, 'corrupt');
    const backend = createDurableBackend(dataDir);
    await backend.accounts.create('alice@localhost', credentialsFor('alice'));
    await backend.close();
    const file = join(dataDir, 'rookery.db');
    const bytes = readFileSync(file);
    bytes.write('not a database file, overwritten by the test', 0);
    writeFileSync(file, bytes);
    const before = snapshot(dataDir);
    await expect(start(dataDir)).resolves.toStrictEqual({
      code: 1,
      stderr: `rookery: cannot start: data directory ${dataDir} is damaged and was left untouched: rookery.db: SQLITE_NOTADB: file is not a database\n`,
    });
    expect(snapshot(dataDir)).toStrictEqual(before);
  }, 60_000);

  it('refuses a data directory path that is a file', async () => {
    const dataDir = join(root, 'a-file');
    writeFileSync(dataDir, 'not a directory\n');
    await expect(start(dataDir)).resolves.toStrictEqual({
      code: 1,
      stderr: `rookery: cannot start: data directory ${dataDir} is not a writable directory (not a directory); set ROOKERY_DATA_DIR to one\n`,
    });
    expect(readFileSync(dataDir, 'utf8')).toBe('not a directory\n');
  }, 60_000);

  it('refuses a data directory that cannot be created because it lies below a file', async () => {
    const file = join(root, 'a-parent-file');
    writeFileSync(file, 'in the way\n');
    const dataDir = join(file, 'data');
    const { code, stderr } = await start(dataDir);
    expect(code).toBe(1);
    expect(stderr).toMatch(new RegExp(`^rookery: cannot start: data directory ${dataDir} is not a writable directory \\(ENOTDIR: .*\\); set ROOKERY_DATA_DIR to one\\n$`));
    expect(readFileSync(file, 'utf8')).toBe('in the way\n');
  }, 60_000);
});
