// Opens the data directory of the durable embedded store: a FORMAT file and one SQLite database
// (rookery.db). Everything that could make the directory unusable is checked before anything is
// written to it, so a directory this release cannot use is refused with one line and left as it
// was (DataDirError, src/errors.ts).
//
// Durability: WAL journal, synchronous=NORMAL, and group commit (wal-sync.ts): a store resolves
// its promise only after an fsync of the WAL that began after its commit. An acknowledged write
// survives kill -9 and a power cut (doc/embedded-store.md; bench/RESULTS.md, "Embedded store").
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { DataDirError } from '../../errors.js';
import { MIGRATIONS } from './schema.js';
import { WalSync } from './wal-sync.js';

export type Sqlite = Database.Database;

/** An open data directory: the database, and the durability barrier of its writes. */
export interface DataDir {
  db: Sqlite;
  /** Resolves once every transaction committed before the call is on disk. */
  flushed(): Promise<void>;
  close(): Promise<void>;
}

/** The format this release writes and the newest it reads: one per schema migration. */
export const DATA_FORMAT = MIGRATIONS.length;
export const DB_FILE = 'rookery.db';
export const FORMAT_FILE = 'FORMAT';
const FORMAT_LINE = /^rookery-data-format (\d+)\n?$/;

/**
 * `result`, once what the caller committed is on disk. A call that changed nothing does not wait
 * (its answer may rest on another caller's commit that is not on disk yet).
 */
export async function durable<T>(dir: DataDir, changed: boolean, result: T): Promise<T> {
  if (changed) await dir.flushed();
  return result;
}

/** Opens (creating it when new) the store in `dir`, or throws DataDirError. */
export function openDataDir(dir: string): DataDir {
  const path = resolve(dir);
  prepareDirectory(path);
  const format = readFormat(path);
  const file = join(path, DB_FILE);
  if (format === undefined) {
    if (existsSync(file)) throw corrupt(path, `${DB_FILE} exists but ${FORMAT_FILE} does not`);
    writeFormat(path);
  } else if (format > DATA_FORMAT) {
    throw newer(path, format);
  } else if (!existsSync(file)) {
    throw corrupt(path, `${FORMAT_FILE} exists but ${DB_FILE} does not`);
  }
  const db = openDatabase(path, file, format === undefined);
  let wal: WalSync;
  try {
    wal = new WalSync(`${file}-wal`);
  } catch (error) {
    db.close();
    throw new DataDirError('ROOKERY_DATA_DIR_UNUSABLE', `data directory ${path} cannot be opened: ${reason(error)}`);
  }
  return {
    db,
    flushed: () => wal.flushed(),
    async close() {
      await wal.close();
      db.close();
    },
  };
}

function prepareDirectory(path: string): void {
  try {
    // Owner only: the database holds every account's SCRAM keys.
    if (!existsSync(path)) mkdirSync(path, { recursive: true, mode: 0o700 });
    if (!statSync(path).isDirectory()) throw new Error('not a directory');
    // Root passes every permission check, so try a real write (a read-only mount still fails it).
    const probe = join(path, `.write-test-${process.pid}`);
    const fd = openSync(probe, 'w');
    try {
      writeSync(fd, 'probe');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    unlinkSync(probe);
  } catch (error) {
    throw new DataDirError('ROOKERY_DATA_DIR_UNUSABLE', `data directory ${path} is not a writable directory (${reason(error)}); set ROOKERY_DATA_DIR to one`);
  }
}

function readFormat(path: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(join(path, FORMAT_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw corrupt(path, `${FORMAT_FILE} cannot be read: ${reason(error)}`);
  }
  const match = FORMAT_LINE.exec(text);
  if (!match?.[1]) throw corrupt(path, `${FORMAT_FILE} does not hold a format version`);
  return Number(match[1]);
}

/** Written whole or not at all: a temporary file, fsync, rename, fsync of the directory. */
function writeFormat(path: string): void {
  const temporary = join(path, `${FORMAT_FILE}.tmp`);
  const fd = openSync(temporary, 'w');
  try {
    writeSync(fd, `rookery-data-format ${DATA_FORMAT}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, join(path, FORMAT_FILE));
  const directory = openSync(path, 'r');
  try {
    fsyncSync(directory);
  } finally {
    closeSync(directory);
  }
}

function openDatabase(path: string, file: string, fresh: boolean): Sqlite {
  let db: Sqlite | undefined;
  try {
    const version = fresh ? 0 : inspect(path, file);
    db = new Database(file, { timeout: 1000 });
    // Before the first access: the lock is then held until close, so a second process on this
    // directory is refused, and WAL needs no shared-memory file.
    db.pragma('locking_mode = EXCLUSIVE');
    if (db.pragma('journal_mode = WAL', { simple: true }) !== 'wal') throw new Error('the WAL journal cannot be enabled');
    db.pragma('synchronous = NORMAL');
    const migrate = db.transaction(() => {
      for (const step of MIGRATIONS.slice(version)) db?.exec(step);
      db?.pragma(`user_version = ${DATA_FORMAT}`);
    });
    // Exclusive: takes the write lock now even when there is nothing to migrate. Setting
    // user_version is a write, so the WAL file exists from here on (WalSync opens it).
    migrate.exclusive();
    return db;
  } catch (error) {
    db?.close();
    if (error instanceof DataDirError) throw error;
    const code = (error as { code?: unknown }).code;
    if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') throw corrupt(path, `${DB_FILE}: ${reason(error)}`);
    if (code === 'SQLITE_BUSY') throw new DataDirError('ROOKERY_DATA_DIR_IN_USE', `data directory ${path} is in use by another process`);
    throw new DataDirError('ROOKERY_DATA_DIR_UNUSABLE', `data directory ${path} cannot be opened: ${reason(error)}`);
  }
}

/**
 * The schema version of an existing database, checked through a read-only connection: it cannot
 * write, not even the checkpoint SQLite runs when the last connection to a WAL database closes,
 * so a database refused here is left byte for byte.
 */
function inspect(path: string, file: string): number {
  // A read-only connection to a WAL database makes an empty log and a shared-memory index if
  // they are missing; they go again afterwards, so a refused directory is as it was.
  const made = [`${file}-wal`, `${file}-shm`].filter((name) => !existsSync(name));
  const db = new Database(file, { readonly: true, fileMustExist: true, timeout: 1000 });
  try {
    const check: unknown = db.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw corrupt(path, `${DB_FILE} failed its integrity check: ${String(check)}`);
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > DATA_FORMAT) throw newer(path, version);
    return version;
  } finally {
    db.close();
    for (const name of made) rmSync(name, { force: true });
  }
}

function corrupt(path: string, detail: string): DataDirError {
  return new DataDirError('ROOKERY_DATA_DIR_CORRUPT', `data directory ${path} is damaged and was left untouched: ${detail}`);
}

function newer(path: string, format: number): DataDirError {
  return new DataDirError(
    'ROOKERY_DATA_DIR_NEWER',
    `data directory ${path} has data format ${format}, newer than the ${DATA_FORMAT} this release reads; run a newer Rookery`,
  );
}

function reason(error: unknown): string {
  const { code, message } = error as { code?: unknown; message?: unknown };
  return typeof code === 'string' && !String(message).includes(code) ? `${code}: ${String(message)}` : String(message);
}
