// ArchiveStore on Redis: one Stream per archive owner (its entry ids are the archive ids), a
// Stream of ids per contact as the index of `with` queries, hashes of recent dedupe keys (one per
// time bucket, expiring by themselves) and the preferences, all on the owner's hash tag. An append is one script (archive-append-7, which also applies the preferences), a page
// one script (archive-query-2).
import {
  archiveRange,
  boundIds,
  DEFAULT_PREFS,
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
} from '../../src/state/archive.js';
import type { RedisClient } from './connection.js';
import { RedisStateError } from './errors.js';
import type { KeyBuilder } from './keys.js';
import type { Scripts } from './scripts.js';

type StreamEntry = [string, string[]];

function entryOf([id, fields]: StreamEntry): ArchiveEntry {
  const value = (name: string): string => fields[fields.indexOf(name) + 1] ?? '';
  return { id, stamp: parseArchiveId(id)?.ms ?? 0, with: value('w'), xml: value('x') };
}

function bound(edge: ArchiveRange['lower'], open: string): string {
  if (!edge) return open;
  return `${edge.inclusive ? '' : '('}${formatArchiveId(edge.id)}`;
}

export class RedisArchiveStore implements ArchiveStore {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeyBuilder,
    private readonly scripts: Scripts,
  ) {}

  append(owner: string, entry: ArchiveAppend, limits: ArchiveLimits): Promise<AppendResult> {
    return this.run(owner, entry, limits, false) as Promise<AppendResult>;
  }

  appendWanted(owner: string, entry: ArchiveAppend, limits: ArchiveLimits): Promise<AppendResult | undefined> {
    return this.run(owner, entry, limits, true);
  }

  /** One archive-append-7: with `byPrefs`, the owner's preferences and roster are read in the same step. */
  private async run(owner: string, entry: ArchiveAppend, limits: ArchiveLimits, byPrefs: boolean): Promise<AppendResult | undefined> {
    const bucket = Math.floor(entry.stamp / Math.max(1, limits.dedupeWindowMs));
    const outcome = await this.scripts.run(
      'archive-append-7',
      [this.keys.archive(owner), this.keys.archiveWith(owner, entry.with), this.keys.archiveContacts(owner), this.keys.archiveSeen(owner, bucket), this.keys.archiveSeen(owner, bucket - 1), this.keys.archivePrefs(owner), this.keys.roster(owner)],
      [Math.floor(entry.stamp), entry.with, entry.xml, entry.dedupe ?? '', Math.max(1, Math.floor(limits.maxEntries)), Math.floor(limits.maxAgeMs), Math.floor(limits.dedupeWindowMs), byPrefs ? '1' : '0'],
    );
    const value = outcome.rejected ? undefined : outcome.value;
    if (!Array.isArray(value) || typeof value[0] !== 'string') throw new RedisStateError('ROOKERY_REDIS_SCRIPT', 'archive-append-7 answered no id');
    if (value[0] === '') return undefined;
    return { id: value[0], duplicate: value[1] === 1, created: value[2] === 1 };
  }

  async query(owner: string, query: ArchiveQuery): Promise<ArchivePage | undefined> {
    const range = archiveRange(query);
    if (!range) return undefined;
    if (query.ids !== undefined) return this.byIds(owner, query);
    const countable = query.start === undefined && query.end === undefined && query.afterId === undefined && query.beforeId === undefined;
    const outcome = await this.scripts.run(
      'archive-query-2',
      [this.keys.archive(owner), this.keys.archiveWith(owner, query.with ?? '')],
      [query.with === undefined ? '0' : '1', bound(range.lower, '-'), bound(range.upper, '+'), range.backward ? '1' : '0', query.max + 1, countable ? '1' : '0', ...boundIds(query)],
    );
    if (outcome.rejected) return undefined;
    const reply = outcome.value;
    if (!Array.isArray(reply)) throw new RedisStateError('ROOKERY_REDIS_SCRIPT', 'archive-query-2 answered no list');
    const entries: ArchiveEntry[] = [];
    for (let i = 1; i + 2 < reply.length; i += 3) {
      const id = String(reply[i]);
      entries.push({ id, stamp: parseArchiveId(id)?.ms ?? 0, with: String(reply[i + 1]), xml: String(reply[i + 2]) });
    }
    const page = entries.slice(0, query.max);
    if (range.backward) page.reverse();
    const count = typeof reply[0] === 'number' && reply[0] >= 0 ? reply[0] : undefined;
    return { entries: page, complete: entries.length <= query.max, ...(count === undefined ? {} : { count }) };
  }

  private async byIds(owner: string, query: ArchiveQuery): Promise<ArchivePage | undefined> {
    const key = this.keys.archive(owner);
    const ids = (query.ids ?? []).filter((id) => parseArchiveId(id) !== undefined);
    const found = await Promise.all(ids.map(async (id) => (await this.client.xrange(key, id, id)) as StreamEntry[]));
    const entries = found
      .flat()
      .map(entryOf)
      .filter((entry) => query.with === undefined || entry.with === query.with)
      .sort((a, b) => compare(a.id, b.id));
    return { entries: [...new Map(entries.map((entry) => [entry.id, entry])).values()], complete: true };
  }

  async trim(owner: string, now: number, limits: ArchiveLimits): Promise<number | undefined> {
    const key = this.keys.archive(owner);
    const minimum = `${Math.max(0, Math.floor(now - limits.maxAgeMs))}-0`;
    await this.client.xtrim(key, 'MINID', minimum);
    // The contacts' id Streams follow (one slot: one pipeline).
    const contacts = await this.client.smembers(this.keys.archiveContacts(owner));
    if (contacts.length > 0) {
      const pipeline = this.client.pipeline();
      for (const contact of contacts) pipeline.xtrim(this.keys.archiveWith(owner, contact), 'MINID', minimum);
      await pipeline.exec();
    }
    const [first] = (await this.client.xrange(key, '-', '+', 'COUNT', 1)) as StreamEntry[];
    return first ? parseArchiveId(first[0])?.ms : undefined;
  }

  async bounds(owner: string): Promise<{ first?: ArchiveEntry; last?: ArchiveEntry }> {
    const key = this.keys.archive(owner);
    const [first, last] = (await Promise.all([this.client.xrange(key, '-', '+', 'COUNT', 1), this.client.xrevrange(key, '+', '-', 'COUNT', 1)])) as [StreamEntry[], StreamEntry[]];
    return { ...(first[0] ? { first: entryOf(first[0]) } : {}), ...(last[0] ? { last: entryOf(last[0]) } : {}) };
  }

  async prefs(owner: string): Promise<ArchivePrefs> {
    const stored = await this.client.get(this.keys.archivePrefs(owner));
    return stored === null ? structuredClone(DEFAULT_PREFS) : (JSON.parse(stored) as ArchivePrefs);
  }

  async setPrefs(owner: string, prefs: ArchivePrefs): Promise<void> {
    await this.client.set(this.keys.archivePrefs(owner), JSON.stringify(prefs));
  }

  async deleteAll(owner: string): Promise<void> {
    const contacts = await this.client.smembers(this.keys.archiveContacts(owner));
    const keys = [this.keys.archive(owner), this.keys.archiveContacts(owner), this.keys.archivePrefs(owner)];
    keys.push(...contacts.map((contact) => this.keys.archiveWith(owner, contact)));
    // One slot: a single DEL of all of them.
    await this.client.del(...keys);
  }
}

function compare(a: string, b: string): number {
  const [x, y] = [parseArchiveId(a), parseArchiveId(b)];
  return x && y ? x.ms - y.ms || x.seq - y.seq : 0;
}
