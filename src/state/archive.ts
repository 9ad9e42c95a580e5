// The message archive (XEP-0313), one per archive owner: an account's bare JID, or a room's
// (the MUC service stores its room history here too). The stores keep XML they do not parse.

/**
 * An archive id is `<ms>-<seq>`: the millisecond of archiving and a sequence within it (the id of
 * a Redis Stream entry). Ids of one archive only grow; the id's millisecond is the entry's time.
 */
export interface ArchiveId {
  ms: number;
  seq: number;
}

export function parseArchiveId(id: string): ArchiveId | undefined {
  const match = /^(\d{1,15})-(\d{1,15})$/.exec(id);
  if (!match) return undefined;
  return { ms: Number(match[1]), seq: Number(match[2]) };
}

export function formatArchiveId(id: ArchiveId): string {
  return `${id.ms}-${id.seq}`;
}

export function compareArchiveIds(a: ArchiveId, b: ArchiveId): number {
  return a.ms - b.ms || a.seq - b.seq;
}

export interface ArchiveEntry {
  id: string;
  /** Archiving time, ms since the epoch (the id's millisecond). */
  stamp: number;
  /** The other party's bare JID (for a room: the occupant's nick or real JID, as MUC decides). */
  with: string;
  /** The message as XML. */
  xml: string;
}

export interface ArchiveAppend {
  with: string;
  xml: string;
  /** When; an archive whose last entry is later stamps the entry at that later time instead. */
  stamp: number;
  /**
   * Identity of the message for this archive (sender full JID + origin-id or id). A second
   * append with the same key within `dedupeWindowMs` stores nothing and returns the first id;
   * after twice that, the key is forgotten (between the two, a store may remember it or not).
   */
  dedupe?: string;
}

/** The bounds of one archive (limits.archiveMessages, limits.archiveDays). */
export interface ArchiveLimits {
  /** Most entries kept; the oldest go first. */
  maxEntries: number;
  /** Entries older than this (ms) are removed. */
  maxAgeMs: number;
  dedupeWindowMs: number;
}

/**
 * A query, in archive order. Bounds combine: `start`/`end` (ms, inclusive), `afterId`/`beforeId`
 * (exclusive), and the result set's `after` (exclusive) or `before` (exclusive; '' = from the end).
 * With `before` set the page is the last `max` entries of the range, otherwise the first; either
 * way the entries come oldest first. `ids` returns those entries only (in archive order).
 */
export interface ArchiveQuery {
  with?: string;
  start?: number;
  end?: number;
  afterId?: string;
  beforeId?: string;
  ids?: readonly string[];
  after?: string;
  before?: string;
  max: number;
}

export interface ArchivePage {
  entries: ArchiveEntry[];
  /** No more entries beyond this page in the direction of paging. */
  complete: boolean;
  /** Entries matching the query without its result-set bounds, when the store can tell cheaply. */
  count?: number;
}

/** XEP-0313 §6 preferences. */
export interface ArchivePrefs {
  default: 'always' | 'never' | 'roster';
  always: string[];
  never: string[];
}

export const DEFAULT_PREFS: ArchivePrefs = { default: 'always', always: [], never: [] };

/** Whether `contact` is in the owner's roster (an item, whatever its subscription). */
export type InRoster = (owner: string, contact: string) => Promise<boolean>;

/** XEP-0313 §6: whether `prefs` want `contact` archived. */
export async function prefsWant(prefs: ArchivePrefs, owner: string, contact: string, inRoster: InRoster): Promise<boolean> {
  if (prefs.never.includes(contact)) return false;
  if (prefs.always.includes(contact)) return true;
  if (prefs.default === 'always') return true;
  if (prefs.default === 'never') return false;
  return inRoster(owner, contact);
}

/**
 * Guarantees: `append` is atomic per archive, deduplicates and trims (count and age) in the same
 * step; two racing appends of one dedupe key store one entry and both return its id. Ids grow
 * with every append. `query` answers `undefined` when an id it was given as a bound (afterId,
 * beforeId, after, before) is not in the archive (XEP-0313 item-not-found). Every method is
 * linearizable per archive; entries leave only by trimming, `deleteAll` or nothing else.
 */
export interface ArchiveStore {
  /** `created`: the archive held no entry before this one (its owner's retention job starts). */
  append(owner: string, entry: ArchiveAppend, limits: ArchiveLimits): Promise<AppendResult>;
  /**
   * `append` if the owner's preferences want the entry's contact archived (XEP-0313 §6: the
   * never list, the always list, then the default; 'roster' asks the owner's roster), decided
   * with the same reads as the append (on Redis: one script); undefined when they do not.
   */
  appendWanted(owner: string, entry: ArchiveAppend, limits: ArchiveLimits): Promise<AppendResult | undefined>;
  /**
   * Removes the entries older than `now - limits.maxAgeMs` (for an archive nobody writes to);
   * returns the stamp of the oldest entry left, undefined when none is left.
   */
  trim(owner: string, now: number, limits: ArchiveLimits): Promise<number | undefined>;
  query(owner: string, query: ArchiveQuery): Promise<ArchivePage | undefined>;
  /** The first and the last entry (XEP-0313 metadata). */
  bounds(owner: string): Promise<{ first?: ArchiveEntry; last?: ArchiveEntry }>;
  prefs(owner: string): Promise<ArchivePrefs>;
  setPrefs(owner: string, prefs: ArchivePrefs): Promise<void>;
  /** Removes the archive, its indexes and preferences (dedupe keys may stay until they expire). */
  deleteAll(owner: string): Promise<void>;
}

export interface AppendResult {
  id: string;
  duplicate: boolean;
  created: boolean;
}

/** The range a query covers, as id bounds: what every store computes the same way. */
export interface ArchiveRange {
  lower?: { id: ArchiveId; inclusive: boolean };
  upper?: { id: ArchiveId; inclusive: boolean };
  backward: boolean;
}

const MAX_SEQ = 999_999_999_999_999;

/** The query's range, or undefined when a bound is not an id at all (item-not-found too). */
export function archiveRange(query: ArchiveQuery): ArchiveRange | undefined {
  const range: ArchiveRange = { backward: query.before !== undefined };
  const raise = (id: ArchiveId, inclusive: boolean): void => {
    const current = range.lower;
    const order = current ? compareArchiveIds(id, current.id) : 1;
    if (!current || order > 0 || (order === 0 && !inclusive)) range.lower = { id, inclusive };
  };
  const lower = (id: ArchiveId, inclusive: boolean): void => {
    const current = range.upper;
    const order = current ? compareArchiveIds(id, current.id) : -1;
    if (!current || order < 0 || (order === 0 && !inclusive)) range.upper = { id, inclusive };
  };
  if (query.start !== undefined) raise({ ms: query.start, seq: 0 }, true);
  if (query.end !== undefined) lower({ ms: query.end, seq: MAX_SEQ }, true);
  for (const text of [query.afterId, query.after]) {
    if (text === undefined) continue;
    const id = parseArchiveId(text);
    if (!id) return undefined;
    raise(id, false);
  }
  for (const text of [query.beforeId, query.before]) {
    if (text === undefined || text === '') continue;
    const id = parseArchiveId(text);
    if (!id) return undefined;
    lower(id, false);
  }
  return range;
}

/** The ids a query names as bounds, which must exist in the archive. */
export function boundIds(query: ArchiveQuery): string[] {
  return [query.afterId, query.beforeId, query.after, query.before].filter((id): id is string => id !== undefined && id !== '');
}

export function inRange(id: ArchiveId, range: ArchiveRange): boolean {
  if (range.lower) {
    const order = compareArchiveIds(id, range.lower.id);
    if (order < 0 || (order === 0 && !range.lower.inclusive)) return false;
  }
  if (range.upper) {
    const order = compareArchiveIds(id, range.upper.id);
    if (order > 0 || (order === 0 && !range.upper.inclusive)) return false;
  }
  return true;
}
