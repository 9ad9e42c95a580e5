// Chooses the embedded database of the durable store (src/state/durable/): write latency with
// every acknowledged write on disk (fsync before the promise resolves) and batch throughput, for
// better-sqlite3 (WAL with synchronous FULL; NORMAL, which is not durable on a power cut; and
// NORMAL with the store's group commit), lmdb and classic-level (LevelDB, sync: true).
//
//   npm install --no-save lmdb classic-level   # only better-sqlite3 is a dependency
//   node --import tsx bench/embedded-store.ts [ops=2000] [dir=os.tmpdir()] [engines=all, e.g. lmdb,sqlite-full]
//
// Each engine gets a fresh directory. The three sequential workloads mirror what the server does
// per acknowledged stanza: an account creation (insert if absent), a roster set (read the entry,
// write it and bump the roster version in one transaction), an offline store (count, then
// append). The concurrent workload keeps 50 offline stores (to 50 accounts) in flight, as a busy
// server would; an engine that syncs off the main thread can share one fsync among them. The
// batch workload writes 20,000 roster entries, 100 per transaction.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { WalSync } from '../src/state/durable/wal-sync.js';

interface Engine {
  name: string;
  createAccount(user: string, value: string): Promise<boolean>;
  setRoster(user: string, contact: string, value: string): Promise<number>;
  storeOffline(user: string, value: string, limit: number): Promise<boolean>;
  /** Writes every [user, contact, value] in one transaction. */
  batch(rows: [string, string, string][]): Promise<void>;
  close(): Promise<void>;
}

function sqlite(dir: string, synchronous: 'FULL' | 'NORMAL' | 'GROUP'): Engine {
  const file = join(dir, 'bench.sqlite');
  const db = new Database(file);
  db.pragma('locking_mode = EXCLUSIVE');
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous === 'GROUP' ? 'NORMAL' : synchronous}`);
  db.exec(`CREATE TABLE account (user TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE roster (user TEXT, contact TEXT, value TEXT NOT NULL, PRIMARY KEY (user, contact)) WITHOUT ROWID;
    CREATE TABLE roster_version (user TEXT PRIMARY KEY, version INTEGER NOT NULL) WITHOUT ROWID;
    CREATE TABLE offline (id INTEGER PRIMARY KEY, user TEXT NOT NULL, value TEXT NOT NULL);
    CREATE INDEX offline_user ON offline (user, id);`);
  const insertAccount = db.prepare('INSERT OR IGNORE INTO account (user, value) VALUES (?, ?)');
  const readEntry = db.prepare('SELECT value FROM roster WHERE user = ? AND contact = ?');
  const writeEntry = db.prepare('INSERT OR REPLACE INTO roster (user, contact, value) VALUES (?, ?, ?)');
  const bump = db.prepare(
    'INSERT INTO roster_version (user, version) VALUES (?, 1) ON CONFLICT (user) DO UPDATE SET version = version + 1 RETURNING version',
  );
  const countOffline = db.prepare('SELECT count(*) AS n FROM offline WHERE user = ?');
  const appendOffline = db.prepare('INSERT INTO offline (user, value) VALUES (?, ?)');
  const setRoster = db.transaction((user: string, contact: string, value: string): number => {
    readEntry.get(user, contact);
    writeEntry.run(user, contact, value);
    return (bump.get(user) as { version: number }).version;
  });
  const storeOffline = db.transaction((user: string, value: string, limit: number): boolean => {
    if ((countOffline.get(user) as { n: number }).n >= limit) return false;
    appendOffline.run(user, value);
    return true;
  });
  const batch = db.transaction((rows: [string, string, string][]) => {
    for (const [user, contact, value] of rows) setRoster(user, contact, value);
  });
  // GROUP is what the store does (src/state/durable/wal-sync.ts). The schema's creation made
  // the WAL file; it stays (the same inode) until close.
  const wal = synchronous === 'GROUP' ? new WalSync(`${file}-wal`) : undefined;
  const durable = async <T>(result: T): Promise<T> => {
    await wal?.flushed();
    return result;
  };
  return {
    name: synchronous === 'GROUP' ? 'better-sqlite3 12, WAL, NORMAL + shared async fsync of the WAL' : `better-sqlite3 12, WAL, synchronous=${synchronous}`,
    createAccount: (user, value) => durable(insertAccount.run(user, value).changes === 1),
    setRoster: (user, contact, value) => durable(setRoster(user, contact, value)),
    storeOffline: (user, value, limit) => durable(storeOffline(user, value, limit)),
    batch: (rows) => durable(batch(rows)),
    close: async () => {
      await wal?.close();
      db.close();
    },
  };
}

// The two optional engines are loaded by name so that the project typechecks without them.
interface LmdbDatabase {
  /** Resolves once every earlier commit is fsynced (commit promises resolve before that by default). */
  readonly flushed: Promise<void>;
  get(key: string): unknown;
  put(key: string, value: unknown): Promise<boolean>;
  transaction<T>(action: () => T): Promise<T>;
  getRange(options: { start: string; end: string }): Iterable<{ key: string; value: unknown }>;
  close(): Promise<void>;
}
type LmdbOpen = (options: { path: string; noSync?: boolean; encoding?: string }) => LmdbDatabase;

async function lmdb(dir: string): Promise<Engine> {
  const { open } = (await import('lmdb' as string)) as { open: LmdbOpen };
  // lmdb-js commits on a background thread; with its default overlappingSync a commit's promise
  // resolves before the fsync, so every write here also waits for db.flushed.
  const db = open({ path: join(dir, 'bench.lmdb'), encoding: 'json' });
  const durable = async <T>(action: () => T): Promise<T> => {
    const result = await db.transaction(action);
    await db.flushed;
    return result;
  };
  const offlineCount = (user: string): number => (db.get(`c\0${user}`) as number | undefined) ?? 0;
  const setRoster = (user: string, contact: string, value: string): number => {
    db.get(`r\0${user}\0${contact}`);
    const version = ((db.get(`v\0${user}`) as number | undefined) ?? 0) + 1;
    void db.put(`r\0${user}\0${contact}`, value);
    void db.put(`v\0${user}`, version);
    return version;
  };
  return {
    name: 'lmdb 3 (each write awaits db.flushed)',
    createAccount: (user, value) => durable(() => {
      if (db.get(`a\0${user}`) !== undefined) return false;
      void db.put(`a\0${user}`, value);
      return true;
    }),
    setRoster: (user, contact, value) => durable(() => setRoster(user, contact, value)),
    storeOffline: (user, value, limit) => durable(() => {
      const count = offlineCount(user);
      if (count >= limit) return false;
      void db.put(`o\0${user}\0${String(count).padStart(10, '0')}`, value);
      void db.put(`c\0${user}`, count + 1);
      return true;
    }),
    batch: async (rows) => {
      await durable(() => {
        for (const [user, contact, value] of rows) setRoster(user, contact, value);
      });
    },
    close: () => db.close(),
  };
}

interface LevelDatabase {
  open(): Promise<void>;
  get(key: string): Promise<string | undefined>;
  batch(ops: { type: 'put'; key: string; value: string }[], options: { sync: boolean }): Promise<void>;
  close(): Promise<void>;
}

async function classicLevel(dir: string): Promise<Engine> {
  const { ClassicLevel } = (await import('classic-level' as string)) as { ClassicLevel: new (path: string) => LevelDatabase };
  const db = new ClassicLevel(join(dir, 'bench.level'));
  await db.open();
  // LevelDB has no transactions: a read-then-write needs a lock of the server's own (one per
  // account). The benchmark runs one write at a time, so it measures the disk path only.
  const sync = { sync: true };
  const setRows = async (rows: [string, string, string][]): Promise<number> => {
    const versions = new Map<string, number>();
    const ops: { type: 'put'; key: string; value: string }[] = [];
    for (const [user, contact, value] of rows) {
      await db.get(`r\0${user}\0${contact}`);
      const version = (versions.get(user) ?? Number((await db.get(`v\0${user}`)) ?? 0)) + 1;
      versions.set(user, version);
      ops.push({ type: 'put', key: `r\0${user}\0${contact}`, value }, { type: 'put', key: `v\0${user}`, value: String(version) });
    }
    await db.batch(ops, sync);
    return [...versions.values()].pop() ?? 0;
  };
  return {
    name: 'classic-level 3 (LevelDB, sync: true)',
    createAccount: async (user, value) => {
      if ((await db.get(`a\0${user}`)) !== undefined) return false;
      await db.batch([{ type: 'put', key: `a\0${user}`, value }], sync);
      return true;
    },
    setRoster: (user, contact, value) => setRows([[user, contact, value]]),
    storeOffline: async (user, value, limit) => {
      const count = Number((await db.get(`c\0${user}`)) ?? 0);
      if (count >= limit) return false;
      await db.batch([
        { type: 'put', key: `o\0${user}\0${String(count).padStart(10, '0')}`, value },
        { type: 'put', key: `c\0${user}`, value: String(count + 1) },
      ], sync);
      return true;
    },
    batch: async (rows) => void (await setRows(rows)),
    close: () => db.close(),
  };
}

interface Figures {
  p50: number;
  p99: number;
  perSecond: number;
}

async function sequential(ops: number, op: (i: number) => Promise<unknown>): Promise<Figures> {
  const times: number[] = [];
  const start = process.hrtime.bigint();
  for (let i = 0; i < ops; i++) {
    const before = process.hrtime.bigint();
    await op(i);
    times.push(Number(process.hrtime.bigint() - before) / 1e6);
  }
  const total = Number(process.hrtime.bigint() - start) / 1e9;
  times.sort((a, b) => a - b);
  const at = (q: number): number => times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? 0;
  return { p50: at(0.5), p99: at(0.99), perSecond: ops / total };
}

/** Operations per second with `inflight` operations outstanding at any time. */
async function concurrent(ops: number, inflight: number, op: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: inflight }, async () => {
    for (let i = next++; i < ops; i = next++) await op(i);
  }));
  return ops / (Number(process.hrtime.bigint() - start) / 1e9);
}

async function measure(make: (dir: string) => Engine | Promise<Engine>, parent: string, ops: number): Promise<string> {
  const dir = mkdtempSync(join(parent, 'rk-bench-'));
  const engine = await make(dir);
  try {
    const credentials = JSON.stringify({ salt: 'x'.repeat(24), iterations: 4096, storedKey: 'y'.repeat(28), serverKey: 'z'.repeat(28) });
    const item = JSON.stringify(['contact@example.com', 'Contact', ['Friends'], 'both', false, false]);
    const stanza = `<message to="u@example.com" from="c@example.com/r" type="chat"><body>${'m'.repeat(64)}</body></message>`;
    const accounts = await sequential(ops, (i) => engine.createAccount(`user${i}@example.com`, credentials));
    const rosters = await sequential(ops, (i) => engine.setRoster(`user${i % 50}@example.com`, `c${i}@example.com`, item));
    const offline = await sequential(ops, (i) => engine.storeOffline(`user${i % 50}@example.com`, stanza, 1000));
    const parallel = await concurrent(ops, 50, (i) => engine.storeOffline(`busy${i % 50}@example.com`, stanza, 1000));
    const rows = 20_000;
    const start = process.hrtime.bigint();
    for (let i = 0; i < rows; i += 100) {
      await engine.batch(Array.from({ length: 100 }, (_, j): [string, string, string] => [`batch${(i + j) % 500}@example.com`, `c${i + j}@example.com`, item]));
    }
    const batchRate = rows / (Number(process.hrtime.bigint() - start) / 1e9);
    const cell = (f: Figures): string => `${f.p50.toFixed(2)} / ${f.p99.toFixed(2)} / ${Math.round(f.perSecond)}`;
    return `| ${engine.name} | ${cell(accounts)} | ${cell(rosters)} | ${cell(offline)} | ${Math.round(parallel).toLocaleString('en')} | ${Math.round(batchRate).toLocaleString('en')} |`;
  } finally {
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const ops = Number(process.argv[2] ?? 2000);
const parent = process.argv[3] ?? tmpdir();
const only = process.argv[4]?.split(',');
console.log(`${ops} sequential operations each; cells: p50 ms / p99 ms / operations per second`);
console.log('| engine | account creation | roster set | offline store | offline stores/s, 50 in flight | batch: roster entries/s (100 per transaction) |');
console.log('|---|---|---|---|---|---|');
const engines: [string, (dir: string) => Engine | Promise<Engine>][] = [
  ['sqlite-full', (dir) => sqlite(dir, 'FULL')],
  ['sqlite-normal', (dir) => sqlite(dir, 'NORMAL')],
  ['sqlite-group', (dir) => sqlite(dir, 'GROUP')],
  ['lmdb', lmdb],
  ['classic-level', classicLevel],
];
for (const [label, make] of engines) {
  if (only && !only.includes(label)) continue;
  try {
    console.log(await measure(make, parent, ops));
  } catch (error) {
    console.log(`| ${label} | not measured: ${(error as Error).message} | | | | |`);
  }
}
