// `rookery import` and `rookery export` (XEP-0227): files ↔ the state backend, accounts and the
// persistent group chat rooms (room.ts, room-transfer.ts).
//
// Import reads every file first (each at most maxFileBytes; a main file's xi:include of host
// files, as ejabberd writes, is followed one level, within the same directory) and checks every
// user entry completely (account.ts readUser): one bad element refuses the whole import, with
// the element and the reason, before anything is written. Then each account is written in an
// order that leaves nothing half-visible: whatever an earlier failed attempt left for a JID
// without an account is cleared, the roster, offline messages, blocklist, vCard and private XML
// are written, and the account record comes last — until it exists, nothing can log in or see
// the rest. An account that already exists is skipped and reported, never merged.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { Element, parse } from 'ltx';
import type { Limits } from '../config.js';
import type { StateBackend } from '../state/backend.js';
import { readUser, storedCredentials, writeUser, type AccountData } from './account.js';
import { storeArchive, storedArchive } from './archive.js';
import { isPieNamespace, NS_PIE, NS_XINCLUDE, PieError } from './pie.js';
import { DEFAULT_MAX_FILE_BYTES } from './defaults.js';
import type { PepNodeData } from './pep.js';
import { readRoom, type RoomData, writeRoom } from './room.js';
import { roomsOf } from './room-transfer.js';

export { DEFAULT_MAX_FILE_BYTES } from './defaults.js';

export interface ImportOptions {
  domain: string;
  limits: Limits;
  /** SCRAM iterations for accounts given a plaintext password. */
  iterations: number;
  maxFileBytes?: number;
  /** The group chat service's domains: their <host/>s hold rooms (room.ts). Default: conference.<domain>. */
  mucDomains?: readonly string[];
  /** Accounts written at once. */
  concurrency?: number;
  progress?: (done: number, total: number) => void;
}

export interface ImportReport {
  imported: string[];
  /** Already existing accounts, left as they were. */
  existing: string[];
  /** What was not imported: element names with the number of users that had them. */
  skippedElements: Map<string, number>;
}

function readXml(file: string, maxBytes: number): Element {
  let size: number;
  try {
    size = statSync(file).size;
  } catch (error) {
    throw new PieError(file, `cannot be read (${(error as Error).message})`);
  }
  if (size > maxBytes) throw new PieError(file, `${size} bytes, more than the ${maxBytes} allowed (--max-bytes)`);
  try {
    return parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new PieError(file, `not well-formed XML (${(error as Error).message})`);
  }
}

/** The <host> elements of a file: a <server-data> of hosts and xi:includes, or one <host> (an included file). */
function hostsOf(file: string, maxBytes: number, depth = 0): Array<{ file: string; host: Element }> {
  const root = readXml(file, maxBytes);
  if (root.name === 'host' && isPieNamespace(root.getNS())) return [{ file, host: root }];
  if (root.name !== 'server-data' || !isPieNamespace(root.getNS())) {
    throw new PieError(`${file}: <${root.name}/>`, `the root element must be <server-data xmlns='${NS_PIE}'/>`);
  }
  const hosts: Array<{ file: string; host: Element }> = [];
  for (const child of root.getChildElements()) {
    if (child.getName() === 'include' && child.getNS() === NS_XINCLUDE) {
      const href = String(child.attrs.href ?? '');
      // Only names in the same directory: an export's includes are plain file names.
      if (href === '' || href !== basename(href)) throw new PieError(`${file}: <xi:include href='${href}'/>`, 'href must name a file in the same directory');
      if (depth > 0) throw new PieError(`${file}: <xi:include href='${href}'/>`, 'an included file cannot include another');
      hosts.push(...hostsOf(join(dirname(file), href), maxBytes, depth + 1));
    } else if (child.name === 'host' && isPieNamespace(child.getNS())) {
      hosts.push({ file, host: child });
    } else {
      throw new PieError(`${file}: <${child.name}/>`, 'only <host/> and <xi:include/> may be in <server-data/>');
    }
  }
  return hosts;
}

/** What the files hold: the accounts of the served domain and the rooms of its MUC domains. */
export interface ImportData {
  accounts: AccountData[];
  rooms: RoomData[];
}

/** Reads one <user/> of a host with `read`, its refusal named in `source`. */
function readEntry<T>(source: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof PieError) throw new PieError(`${source}: ${error.where}`, error.reason);
    throw error;
  }
}

/** Reads and checks every file; throws PieError (the first bad element) when one is wrong. */
export function readImportData(files: readonly string[], options: ImportOptions): ImportData {
  const data: ImportData = { accounts: [], rooms: [] };
  const mucDomains = options.mucDomains ?? [`conference.${options.domain}`];
  const seen = new Set<string>();
  const now = Date.now();
  for (const file of files) {
    for (const { file: source, host } of hostsOf(resolve(file), options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES)) {
      const jid = String(host.attrs.jid ?? '');
      const rooms = mucDomains.includes(jid);
      if (jid !== options.domain && !rooms) throw new PieError(`${source}: host[@jid='${jid}']`, `this deployment serves ${options.domain} (group chat: ${mucDomains.join(', ')})`);
      for (const user of host.getChildElements()) {
        const at = `${source}: host[@jid='${jid}']/user[@name='${String(user.attrs.name)}']`;
        if (user.name !== 'user') throw new PieError(`${source}: host[@jid='${jid}']/${user.name}`, 'only <user/> may be in <host/>');
        const entry = rooms ? readEntry(source, () => readRoom(user, jid, options.limits)) : readEntry(source, () => readUser(user, jid, options.limits, now));
        const name = 'user' in entry ? entry.user : entry.jid;
        if (seen.has(name)) throw new PieError(at, rooms ? 'the room is listed twice' : 'the account is listed twice');
        seen.add(name);
        if ('user' in entry) data.accounts.push(entry);
        else data.rooms.push(entry);
      }
    }
  }
  return data;
}

/** The accounts of the files (their rooms are read and checked too: readImportData has them). */
export function readImport(files: readonly string[], options: ImportOptions): AccountData[] {
  return readImportData(files, options).accounts;
}

/** Writes one checked account (see the top of this file for the order); false when it exists. */
export async function writeAccount(state: StateBackend, data: AccountData, options: Pick<ImportOptions, 'limits' | 'iterations'>): Promise<boolean> {
  const { user } = data;
  if (await state.accounts.exists(user)) return false;
  const credentials = await storedCredentials(data.credentials, options.iterations);
  await Promise.all([state.rosters.deleteAll(user), state.offline.deleteAll(user), state.blocklists.deleteAll(user), state.personal.deleteAll(user), state.pep.deleteAll(user), state.archive.deleteAll(user)]);
  const contacts = new Set([...data.roster.map((item) => item.jid), ...data.pendingIn.keys()]);
  const items = new Map(data.roster.map((item) => [item.jid, item]));
  for (const contact of contacts) {
    const item = items.get(contact);
    const pendingIn = data.pendingIn.get(contact);
    const version = await state.rosters.compareAndSet(user, contact, {}, { ...(item ? { item } : {}), ...(pendingIn !== undefined ? { pendingIn } : {}) });
    if (version === undefined) throw new Error(`${user}: the roster changed while it was imported`);
  }
  for (const message of data.offline) await state.offline.store(user, message, Number.MAX_SAFE_INTEGER);
  if (data.blocklist.length > 0) await state.blocklists.add(user, data.blocklist);
  await storeArchive(state, user, data.archive, options.limits);
  // Checked against the limits when read; stored with room for exactly what was read.
  const personalLimits = { itemBytes: Number.MAX_SAFE_INTEGER, items: data.personal.size };
  for (const [key, xml] of data.personal) {
    const result = await state.personal.set(user, key, xml, personalLimits);
    if (result !== 'stored') throw new Error(`${user}: ${key} could not be stored (${result})`);
  }
  // Published in document order (oldest first), so the newest item ends up newest.
  const pepLimits = { nodes: data.pep.size, itemsPerNode: Number.MAX_SAFE_INTEGER, itemBytes: Number.MAX_SAFE_INTEGER, totalBytes: Number.MAX_SAFE_INTEGER };
  for (const [node, { config, subscriptions, items }] of data.pep) {
    if (items.length === 0 && (await state.pep.create(user, node, config, pepLimits)) === 'nodes-full') throw new Error(`${user}: PEP node ${node} could not be stored`);
    for (const item of items) {
      const result = await state.pep.publish(user, node, item, config, {}, pepLimits);
      if (result.outcome !== 'published') throw new Error(`${user}: PEP node ${node} could not be stored (${result.outcome})`);
    }
    for (const { jid, options } of subscriptions) {
      const result = await state.pep.subscribe(user, node, jid, subscriptions.length, options);
      if (result !== 'subscribed') throw new Error(`${user}: a subscription to PEP node ${node} could not be stored (${result})`);
    }
  }
  return state.accounts.create(user, credentials);
}

/** Writes checked accounts, `concurrency` at a time. */
export async function importAccounts(state: StateBackend, accounts: readonly AccountData[], options: ImportOptions): Promise<ImportReport> {
  const report: ImportReport = { imported: [], existing: [], skippedElements: new Map() };
  for (const data of accounts) for (const name of new Set(data.skipped)) report.skippedElements.set(name, (report.skippedElements.get(name) ?? 0) + 1);
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < accounts.length) {
      const data = accounts[next++] as AccountData;
      if (await writeAccount(state, data, options)) report.imported.push(data.user);
      else report.existing.push(data.user);
      done += 1;
      options.progress?.(done, accounts.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 32) }, worker));
  return report;
}

/** One account as stored, in the shape writeUser takes. */
export async function readAccount(state: StateBackend, user: string): Promise<AccountData | undefined> {
  const credentials = await state.accounts.credentials(user);
  if (!credentials) return undefined;
  const [roster, offline, personal, blocklist, pepNodes, pepSubscriptions, archive] = await Promise.all([
    state.rosters.load(user), state.offline.peek(user), state.personal.all(user), state.blocklists.get(user), state.pep.nodes(user), state.pep.subscriptions(user), storedArchive(state, user),
  ]);
  const pep = new Map<string, PepNodeData>();
  for (const [node, config] of pepNodes) {
    const items = (await state.pep.items(user, node))?.items ?? [];
    const subscriptions = pepSubscriptions.filter((subscription) => subscription.node === node).map(({ jid, options }) => ({ jid, options }));
    pep.set(node, { config, subscriptions, items: items.reverse() });
  }
  return {
    user,
    credentials: { scram: { ...credentials } },
    roster: [...roster.items.values()],
    pendingIn: roster.pendingIn,
    offline,
    personal,
    blocklist,
    archive,
    pep,
    skipped: [],
  };
}

export interface ExportResult {
  /** The main file (server-data with an xi:include of each host file). */
  main: string;
  /** The host file of the accounts. */
  host: string;
  accounts: number;
  /** The host file of each MUC domain that has persistent rooms. */
  roomHosts: string[];
  rooms: number;
}

/**
 * Writes one host file (`<host jid>` of `elements`) under a temporary name, renamed when
 * complete; without any element, only if `keepEmpty`. Returns how many elements it holds.
 */
async function writeHost(path: string, jid: string, elements: AsyncIterable<Element>, keepEmpty: boolean, written?: (count: number) => void): Promise<number> {
  if (existsSync(path)) throw new Error(`${path} already exists`);
  // Owner only: the accounts' file holds every account's SCRAM keys, a room's its password.
  const fd = openSync(`${path}.partial`, 'w', 0o600);
  let count = 0;
  try {
    writeSync(fd, `<?xml version='1.0' encoding='UTF-8'?>\n<host xmlns='${NS_PIE}' jid='${jid}'>\n`);
    for await (const element of elements) {
      writeSync(fd, `${element.toString()}\n`);
      count += 1;
      written?.(count);
    }
    writeSync(fd, '</host>\n');
  } finally {
    closeSync(fd);
  }
  if (count === 0 && !keepEmpty) rmSync(`${path}.partial`);
  else renameSync(`${path}.partial`, path);
  return count;
}

async function* usersOf(state: StateBackend, domain: string): AsyncIterable<Element> {
  for await (const user of state.accounts.list()) {
    const data = await readAccount(state, user);
    if (data && user.endsWith(`@${domain}`)) yield writeUser(data, domain);
  }
}

async function* roomElements(state: StateBackend, domain: string): AsyncIterable<Element> {
  for await (const room of roomsOf(state, domain)) yield writeRoom(room);
}

/**
 * Writes `dir`/<domain>-<stamp>.xml (server-data with an xi:include of each host file, as
 * ejabberd's export does), the accounts' host file and one for each MUC domain with persistent
 * rooms (room.ts), one <user> at a time; each file is written under a temporary name and renamed
 * when complete, so a failed export leaves no file that looks whole.
 */
export async function exportAccounts(state: StateBackend, dir: string, domain: string, progress?: (done: number) => void, mucDomains: readonly string[] = [`conference.${domain}`]): Promise<ExportResult> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '');
  const main = join(dir, `${domain}-${stamp}.xml`);
  const host = join(dir, `${domain}-${stamp}-host.xml`);
  if (existsSync(main)) throw new Error(`${main} already exists`);
  const accounts = await writeHost(host, domain, usersOf(state, domain), true, progress);
  const roomHosts: string[] = [];
  let rooms = 0;
  for (const mucDomain of mucDomains) {
    const path = join(dir, `${mucDomain}-${stamp}-rooms.xml`);
    const count = await writeHost(path, mucDomain, roomElements(state, mucDomain), false);
    if (count > 0) roomHosts.push(path);
    rooms += count;
  }
  const includes = [host, ...roomHosts].map((file) => `<xi:include href='${basename(file)}'/>`).join('');
  const mainFd = openSync(`${main}.partial`, 'w', 0o600);
  try {
    writeSync(mainFd, `<?xml version='1.0' encoding='UTF-8'?>\n<server-data xmlns='${NS_PIE}' xmlns:xi='${NS_XINCLUDE}'>${includes}</server-data>\n`);
  } finally {
    closeSync(mainFd);
  }
  renameSync(`${main}.partial`, main);
  return { main, host, accounts, roomHosts, rooms };
}
