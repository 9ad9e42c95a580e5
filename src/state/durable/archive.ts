// ArchiveStore in the durable embedded store (the migration after PEP's): one row per entry keyed by
// (owner, ms, seq), an index by contact, dedupe keys and preferences in their own tables. An
// append (dedupe, insert, trim) is one transaction.
import {
  archiveRange,
  boundIds,
  DEFAULT_PREFS,
  prefsWant,
  type InRoster,
  formatArchiveId,
  parseArchiveId,
  type AppendResult,
  type ArchiveAppend,
  type ArchiveEntry,
  type ArchiveLimits,
  type ArchivePage,
  type ArchivePrefs,
  type ArchiveQuery,
  type ArchiveRange,
  type ArchiveStore,
} from '../archive.js';
import { type DataDir, durable, type Sqlite } from './database.js';

interface Row {
  ms: number;
  seq: number;
  with_jid: string;
  xml: string;
}

type Statement = ReturnType<Sqlite['prepare']> & { get(...args: unknown[]): unknown; all(...args: unknown[]): unknown[]; run(...args: unknown[]): { changes: number } };

const entryOf = (row: Row): ArchiveEntry => ({ id: formatArchiveId(row), stamp: row.ms, with: row.with_jid, xml: row.xml });

export class DurableArchiveStore implements ArchiveStore {
  private readonly db: Sqlite;
  private readonly appendOne;
  private readonly statements = new Map<string, Statement>();

  constructor(
    private readonly dir: DataDir,
    private readonly inRoster: InRoster,
  ) {
    this.db = dir.db;
    const seen = this.db.prepare<[string, string, number], { ms: number; seq: number }>('SELECT ms, seq FROM archive_dedupe WHERE owner = ? AND key = ? AND ms >= ?');
    const last = this.db.prepare<[string], { ms: number; seq: number }>('SELECT ms, seq FROM archive WHERE owner = ? ORDER BY ms DESC, seq DESC LIMIT 1');
    const insert = this.db.prepare<[string, number, number, string, string]>('INSERT INTO archive (owner, ms, seq, with_jid, xml) VALUES (?, ?, ?, ?, ?)');
    const remember = this.db.prepare<[string, string, number, number]>('INSERT OR REPLACE INTO archive_dedupe (owner, key, ms, seq) VALUES (?, ?, ?, ?)');
    const forget = this.db.prepare<[string, number]>('DELETE FROM archive_dedupe WHERE owner = ? AND ms < ?');
    const trimAge = this.db.prepare<[string, number]>('DELETE FROM archive WHERE owner = ? AND ms < ?');
    const count = this.db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM archive WHERE owner = ?');
    const trimCount = this.db.prepare<[string, string, number]>(
      'DELETE FROM archive WHERE owner = ? AND (ms, seq) IN (SELECT ms, seq FROM archive WHERE owner = ? ORDER BY ms, seq LIMIT ?)',
    );
    this.appendOne = this.db.transaction((owner: string, entry: ArchiveAppend, limits: ArchiveLimits): AppendResult => {
      if (entry.dedupe !== undefined) {
        const found = seen.get(owner, entry.dedupe, entry.stamp - limits.dedupeWindowMs);
        if (found) return { id: formatArchiveId(found), duplicate: true, created: false };
      }
      const previous = last.get(owner);
      const ms = Math.max(entry.stamp, previous?.ms ?? 0);
      const seq = previous && previous.ms === ms ? previous.seq + 1 : 0;
      insert.run(owner, ms, seq, entry.with, entry.xml);
      if (entry.dedupe !== undefined) {
        forget.run(owner, ms - limits.dedupeWindowMs);
        remember.run(owner, entry.dedupe, ms, seq);
      }
      trimAge.run(owner, ms - limits.maxAgeMs);
      const excess = (count.get(owner)?.n ?? 0) - limits.maxEntries;
      if (excess > 0) trimCount.run(owner, owner, excess);
      return { id: formatArchiveId({ ms, seq }), duplicate: false, created: previous === undefined };
    });
  }

  async appendWanted(owner: string, entry: ArchiveAppend, limits: ArchiveLimits): Promise<AppendResult | undefined> {
    if (!(await prefsWant(await this.prefs(owner), owner, entry.with, this.inRoster))) return undefined;
    return this.append(owner, entry, limits);
  }

  async append(owner: string, entry: ArchiveAppend, limits: ArchiveLimits): Promise<AppendResult> {
    const result = this.appendOne(owner, entry, limits);
    return durable(this.dir, !result.duplicate, result);
  }

  async query(owner: string, query: ArchiveQuery): Promise<ArchivePage | undefined> {
    const range = archiveRange(query);
    if (!range) return undefined;
    for (const text of boundIds(query)) {
      const id = parseArchiveId(text);
      if (!id || !this.statement('SELECT 1 AS found FROM archive WHERE owner = ? AND ms = ? AND seq = ?').get(owner, id.ms, id.seq)) return undefined;
    }
    const withClause = query.with === undefined ? '' : ' AND with_jid = ?';
    const withArgs = query.with === undefined ? [] : [query.with];
    if (query.ids !== undefined) {
      const wanted = new Set(query.ids);
      const rows = query.ids
        .map(parseArchiveId)
        .filter((id) => id !== undefined)
        .map((id) => this.statement(`SELECT ms, seq, with_jid, xml FROM archive WHERE owner = ? AND ms = ? AND seq = ?${withClause}`).get(owner, id.ms, id.seq, ...withArgs) as Row | undefined)
        .filter((row): row is Row => row !== undefined && wanted.has(formatArchiveId(row)))
        .sort((a, b) => a.ms - b.ms || a.seq - b.seq);
      return { entries: rows.map(entryOf), complete: true, count: rows.length };
    }
    const [where, args] = rangeSql(range);
    const order = range.backward ? 'DESC' : 'ASC';
    const rows = this.statement(`SELECT ms, seq, with_jid, xml FROM archive WHERE owner = ?${withClause}${where} ORDER BY ms ${order}, seq ${order} LIMIT ?`).all(
      owner,
      ...withArgs,
      ...args,
      query.max + 1,
    ) as Row[];
    const page = rows.slice(0, query.max);
    if (range.backward) page.reverse();
    const unbounded = archiveRange({ ...query, after: undefined, before: undefined }) as ArchiveRange;
    const [countWhere, countArgs] = rangeSql(unbounded);
    const counted = this.statement(`SELECT count(*) AS n FROM archive WHERE owner = ?${withClause}${countWhere}`).get(owner, ...withArgs, ...countArgs) as { n: number };
    return { entries: page.map(entryOf), complete: rows.length <= query.max, count: counted.n };
  }

  async trim(owner: string, now: number, limits: ArchiveLimits): Promise<number | undefined> {
    const removed = this.statement('DELETE FROM archive WHERE owner = ? AND ms < ?').run(owner, now - limits.maxAgeMs).changes;
    const oldest = this.statement('SELECT ms FROM archive WHERE owner = ? ORDER BY ms, seq LIMIT 1').get(owner) as { ms: number } | undefined;
    return durable(this.dir, removed > 0, oldest?.ms);
  }

  async bounds(owner: string): Promise<{ first?: ArchiveEntry; last?: ArchiveEntry }> {
    const first = this.statement('SELECT ms, seq, with_jid, xml FROM archive WHERE owner = ? ORDER BY ms, seq LIMIT 1').get(owner) as Row | undefined;
    const last = this.statement('SELECT ms, seq, with_jid, xml FROM archive WHERE owner = ? ORDER BY ms DESC, seq DESC LIMIT 1').get(owner) as Row | undefined;
    return { ...(first ? { first: entryOf(first) } : {}), ...(last ? { last: entryOf(last) } : {}) };
  }

  async prefs(owner: string): Promise<ArchivePrefs> {
    const row = this.statement('SELECT prefs FROM archive_prefs WHERE owner = ?').get(owner) as { prefs: string } | undefined;
    return row ? (JSON.parse(row.prefs) as ArchivePrefs) : structuredClone(DEFAULT_PREFS);
  }

  async setPrefs(owner: string, prefs: ArchivePrefs): Promise<void> {
    this.statement('INSERT OR REPLACE INTO archive_prefs (owner, prefs) VALUES (?, ?)').run(owner, JSON.stringify(prefs));
    await this.dir.flushed();
  }

  async deleteAll(owner: string): Promise<void> {
    const removed = this.db.transaction(() => {
      let changes = 0;
      for (const table of ['archive', 'archive_dedupe', 'archive_prefs']) changes += this.statement(`DELETE FROM ${table} WHERE owner = ?`).run(owner).changes;
      return changes;
    })();
    await durable(this.dir, removed > 0, undefined);
  }

  private statement(sql: string): Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare<unknown[]>(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }
}

function rangeSql(range: ArchiveRange): [string, number[]] {
  let where = '';
  const args: number[] = [];
  if (range.lower) {
    where += ` AND (ms, seq) ${range.lower.inclusive ? '>=' : '>'} (?, ?)`;
    args.push(range.lower.id.ms, range.lower.id.seq);
  }
  if (range.upper) {
    where += ` AND (ms, seq) ${range.upper.inclusive ? '<=' : '<'} (?, ?)`;
    args.push(range.upper.id.ms, range.upper.id.seq);
  }
  return [where, args];
}
