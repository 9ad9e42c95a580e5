// In-process ArchiveStore: an array per archive, oldest first.
import {
  archiveRange,
  boundIds,
  DEFAULT_PREFS,
  prefsWant,
  type InRoster,
  formatArchiveId,
  inRange,
  parseArchiveId,
  type AppendResult,
  type ArchiveAppend,
  type ArchiveEntry,
  type ArchiveLimits,
  type ArchivePage,
  type ArchivePrefs,
  type ArchiveQuery,
  type ArchiveStore,
} from '../archive.js';

interface Archive {
  entries: ArchiveEntry[];
  /** dedupe key → id and when it was stored. */
  recent: Map<string, { id: string; at: number }>;
  lastMs: number;
  lastSeq: number;
}

export class MemoryArchiveStore implements ArchiveStore {
  private readonly archives = new Map<string, Archive>();
  private readonly preferences = new Map<string, ArchivePrefs>();

  constructor(private readonly inRoster: InRoster) {}

  async appendWanted(owner: string, entry: ArchiveAppend, limits: ArchiveLimits): Promise<AppendResult | undefined> {
    if (!(await prefsWant(await this.prefs(owner), owner, entry.with, this.inRoster))) return undefined;
    return this.append(owner, entry, limits);
  }

  async append(owner: string, entry: ArchiveAppend, limits: ArchiveLimits): Promise<AppendResult> {
    const archive: Archive = this.archives.get(owner) ?? { entries: [], recent: new Map(), lastMs: 0, lastSeq: -1 };
    this.archives.set(owner, archive);
    for (const [key, seen] of archive.recent) if (seen.at < entry.stamp - limits.dedupeWindowMs) archive.recent.delete(key);
    const seen = entry.dedupe === undefined ? undefined : archive.recent.get(entry.dedupe);
    if (seen) return { id: seen.id, duplicate: true, created: false };
    const created = archive.entries.length === 0;
    const ms = Math.max(entry.stamp, archive.lastMs);
    const seq = ms === archive.lastMs ? archive.lastSeq + 1 : 0;
    archive.lastMs = ms;
    archive.lastSeq = seq;
    const id = formatArchiveId({ ms, seq });
    archive.entries.push({ id, stamp: ms, with: entry.with, xml: entry.xml });
    if (entry.dedupe !== undefined) archive.recent.set(entry.dedupe, { id, at: ms });
    const oldest = ms - limits.maxAgeMs;
    const drop = Math.max(archive.entries.length - limits.maxEntries, archive.entries.findIndex((kept) => kept.stamp >= oldest));
    if (drop > 0) archive.entries.splice(0, drop);
    return { id, duplicate: false, created };
  }

  async query(owner: string, query: ArchiveQuery): Promise<ArchivePage | undefined> {
    const entries = this.archives.get(owner)?.entries ?? [];
    const known = new Set(entries.map((entry) => entry.id));
    if (boundIds(query).some((id) => !known.has(id))) return undefined;
    const range = archiveRange(query);
    if (!range) return undefined;
    const matching = (entry: ArchiveEntry): boolean => query.with === undefined || entry.with === query.with;
    if (query.ids !== undefined) {
      const wanted = new Set(query.ids);
      const found = entries.filter((entry) => wanted.has(entry.id) && matching(entry));
      return { entries: found, complete: true, count: found.length };
    }
    const unbounded = archiveRange({ ...query, after: undefined, before: undefined });
    const count = entries.filter((entry) => matching(entry) && unbounded !== undefined && inRange(parseArchiveId(entry.id)!, unbounded)).length;
    const selected = entries.filter((entry) => matching(entry) && inRange(parseArchiveId(entry.id)!, range));
    const page = range.backward ? selected.slice(Math.max(0, selected.length - query.max)) : selected.slice(0, query.max);
    return { entries: page, complete: selected.length <= query.max, count };
  }

  async trim(owner: string, now: number, limits: ArchiveLimits): Promise<number | undefined> {
    const archive = this.archives.get(owner);
    if (!archive) return undefined;
    archive.entries = archive.entries.filter((entry) => entry.stamp >= now - limits.maxAgeMs);
    return archive.entries[0]?.stamp;
  }

  async bounds(owner: string): Promise<{ first?: ArchiveEntry; last?: ArchiveEntry }> {
    const entries = this.archives.get(owner)?.entries ?? [];
    return { ...(entries[0] ? { first: entries[0] } : {}), ...(entries.at(-1) ? { last: entries.at(-1) } : {}) };
  }

  async prefs(owner: string): Promise<ArchivePrefs> {
    return structuredClone(this.preferences.get(owner) ?? DEFAULT_PREFS);
  }

  async setPrefs(owner: string, prefs: ArchivePrefs): Promise<void> {
    this.preferences.set(owner, structuredClone(prefs));
  }

  async deleteAll(owner: string): Promise<void> {
    this.archives.delete(owner);
    this.preferences.delete(owner);
  }
}
