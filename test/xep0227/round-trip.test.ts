// XEP-0227 import and export (src/xep0227/) on the stores themselves: our own export imports
// back to the same data; foreign forms (ejabberd's doubly encoded SCRAM keys, Prosody's pending
// requests, plaintext passwords, single-file exports) are read; a bad file is refused whole.
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../src/config.js';
import { deriveCredentials, deriveScramKeys, verifyPassword } from '../../src/sasl/credentials.js';
import type { StateBackend } from '../../src/state/backend.js';
import { personalKey } from '../../src/state/personal.js';
import { DEFAULT_NODE_CONFIG } from '../../src/state/pep.js';
import { UNKNOWN_KEYS } from '../../src/xep0227/account.js';
import { exportAccounts, importAccounts, readAccount, readImport, readImportData, type ImportOptions } from '../../src/xep0227/transfer.js';
import { importRooms, readRoomData } from '../../src/xep0227/room-transfer.js';
import type { RoomConfig, RoomRecord } from '../../src/state/muc.js';
import { makeBackend, STORES } from '../support/server.js';

const DOMAIN = 'example.org';
const MUC = `conference.${DOMAIN}`;
const OPTIONS: ImportOptions = { domain: DOMAIN, limits: DEFAULT_LIMITS, iterations: 4096, mucDomains: [MUC, `chat.${DOMAIN}`] };
const VCARD = personalKey({ kind: 'vcard' });
const BOOKMARKS = personalKey({ kind: 'private', name: 'storage', namespace: 'storage:bookmarks' });
/** Within the default retention (limits.archiveDays), so that the import keeps them. */
const ARCHIVED_AT = Date.now() - 3_600_000;
const root = mkdtempSync(join(tmpdir(), 'rookery-pie-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let fileCount = 0;
function file(xml: string): string {
  const path = join(root, `f${++fileCount}.xml`);
  writeFileSync(path, xml);
  return path;
}
const serverData = (users: string, host = DOMAIN): string => `<?xml version='1.0' encoding='UTF-8'?><server-data xmlns='urn:xmpp:pie:0'><host jid='${host}'>${users}</host></server-data>`;

const ROOM_CONFIG: RoomConfig = {
  name: 'The Heath', description: 'Thunder & lightning', persistent: true, public: false, membersOnly: true, password: 'eye of newt', moderated: true,
  maxOccupants: 13, whois: 'anyone', historyLength: 7, allowPrivateMessages: 'moderators', changeSubject: true, allowInvites: true, archiving: true,
};
const PHOTO = Buffer.from('a picture of a blasted heath').toString('base64');
const ROOM_VCARD = `<vCard xmlns="vcard-temp"><FN>The Heath</FN><PHOTO><TYPE>image/png</TYPE><BINVAL>${PHOTO}</BINVAL></PHOTO></vCard>`;

/** A persistent room with everything a room carries, a temporary and a locked one (neither exported), and a room on a second MUC domain. */
async function seedRooms(state: StateBackend): Promise<void> {
  const room = `heath@${MUC}`;
  const record: RoomRecord = {
    config: ROOM_CONFIG,
    affiliations: { [`hecate@${DOMAIN}`]: 'owner', [`first@${DOMAIN}`]: 'admin', [`second@${DOMAIN}`]: 'member', 'macduff@remote.example': 'outcast' },
    subject: { text: 'When shall we three meet again?', nick: 'First Witch', stamp: ARCHIVED_AT - 60_000 },
    locked: false, salt: 'old salt', created: 1_700_000_000_000, avatar: 'ignored: the import computes its own',
  };
  const occupant = { nick: 'Hecate', bare: `hecate@${DOMAIN}`, role: 'moderator' as const, sessions: [{ jid: `hecate@${DOMAIN}/cauldron`, node: 'n', presence: '<presence/>' }] };
  await state.muc.transact(room, () => ({ change: { record, put: [occupant], vcard: ROOM_VCARD }, value: undefined }));
  const limits = { maxEntries: 100, maxAgeMs: 86_400_000, dedupeWindowMs: 60_000 };
  for (const [i, nick] of ['First Witch', 'Second Witch', 'Third Witch'].entries()) {
    const xml = `<message xmlns="jabber:client" from="${room}/${nick}" type="groupchat" id="w${i}"><body>line ${i} &amp; more</body><occupant-id xmlns="urn:xmpp:occupant-id:0" id="o${i}"/></message>`;
    await state.archive.append(room, { with: `${room}/${nick}`, xml, stamp: ARCHIVED_AT + i * 1000 }, limits);
  }
  const plain = (config: Partial<RoomConfig>, locked = false): RoomRecord => ({ ...record, config: { ...ROOM_CONFIG, ...config }, locked, subject: undefined, avatar: undefined } as RoomRecord);
  await state.muc.transact(`fleeting@${MUC}`, () => ({ change: { record: plain({ persistent: false }), put: [occupant] }, value: undefined }));
  await state.muc.transact(`reserved@${MUC}`, () => ({ change: { record: plain({}, true), put: [occupant] }, value: undefined }));
  await state.muc.transact(`moor@chat.${DOMAIN}`, () => ({ change: { record: plain({ name: 'Moor' }) }, value: undefined }));
}

async function seed(state: StateBackend): Promise<void> {
  const alice = `alice@${DOMAIN}`;
  await state.accounts.create(alice, await deriveCredentials('wonder land ✓', 4096));
  await state.rosters.compareAndSet(alice, `bob@${DOMAIN}`, {}, { item: { jid: `bob@${DOMAIN}`, name: 'Bob <the builder>', groups: ['Friends', 'Work & Play'], subscription: 'both', ask: false, approved: false } });
  await state.rosters.compareAndSet(alice, 'carol@remote.example', {}, { item: { jid: 'carol@remote.example', groups: [], subscription: 'none', ask: true, approved: true } });
  await state.rosters.compareAndSet(alice, 'dave@remote.example', {}, { pendingIn: `<presence xmlns="jabber:client" from="dave@remote.example" to="${alice}" type="subscribe"/>` });
  await state.offline.store(alice, { xml: `<message xmlns="jabber:client" from="bob@${DOMAIN}/desk" to="${alice}" type="chat" id="m1"><body>Hi &amp; bye</body></message>`, stamp: 1_700_000_000_123 }, 100);
  await state.offline.store(alice, { xml: `<message xmlns="jabber:client" from="bob@${DOMAIN}/desk" to="${alice}" id="m2"><body>second</body></message>`, stamp: 1_700_000_001_000 }, 100);
  await state.personal.set(alice, VCARD, '<vCard xmlns="vcard-temp"><FN>Alice Liddell</FN></vCard>', { itemBytes: 1e6, items: 10 });
  await state.personal.set(alice, BOOKMARKS, '<storage xmlns="storage:bookmarks"><conference jid="room@conf.example" autojoin="true"/></storage>', { itemBytes: 1e6, items: 10 });
  await state.blocklists.add(alice, ['spam@bad.example', 'bad.example/res']);
  const limits = { maxEntries: 100, maxAgeMs: 86_400_000, dedupeWindowMs: 60_000 };
  await state.archive.append(alice, { with: `bob@${DOMAIN}`, xml: `<message xmlns="jabber:client" from="bob@${DOMAIN}/desk" to="${alice}" type="chat" id="a1"><body>archived &lt;1&gt;</body></message>`, stamp: ARCHIVED_AT }, limits);
  await state.archive.append(alice, { with: 'carol@remote.example', xml: `<message xmlns="jabber:client" from="${alice}/phone" to="carol@remote.example" type="chat" id="a2"><body>archived 2</body></message>`, stamp: ARCHIVED_AT + 5000 }, limits);
  const pepLimits = { nodes: 10, itemsPerNode: 10, itemBytes: 1e6, totalBytes: 1e6 };
  const open = { ...DEFAULT_NODE_CONFIG, access_model: 'open' as const, max_items: 5 };
  await state.pep.publish(alice, 'eu.siacs.conversations.axolotl.devicelist', { id: 'current', xml: '<list xmlns="eu.siacs.conversations.axolotl"><device id="1"/></list>' }, open, {}, pepLimits);
  for (const id of ['room1@conf.example', 'room2@conf.example']) {
    await state.pep.publish(alice, 'urn:xmpp:bookmarks:1', { id, xml: '<conference xmlns="urn:xmpp:bookmarks:1" autojoin="true"/>' }, { ...DEFAULT_NODE_CONFIG, access_model: 'whitelist', max_items: 256, whitelist: [`carol@${DOMAIN}`] }, {}, pepLimits);
  }
  await state.pep.create(alice, 'urn:test:empty', { ...DEFAULT_NODE_CONFIG, title: 'Empty & new' }, pepLimits);
  // Explicit subscribers (XEP-0060 §6.1), one with options (§6.3), one on a node without items.
  await state.pep.subscribe(alice, 'eu.siacs.conversations.axolotl.devicelist', 'carol@remote.example/phone', 10, { deliver: false, include_body: true });
  await state.pep.subscribe(alice, 'eu.siacs.conversations.axolotl.devicelist', `bob@${DOMAIN}`, 10);
  await state.pep.subscribe(alice, 'urn:test:empty', `bob@${DOMAIN}/desk`, 10);
  const bob = `bob@${DOMAIN}`;
  const sha1 = await deriveScramKeys('builder', 'SHA-1', Buffer.from('0123456789abcdef'), 4096);
  await state.accounts.create(bob, { 'SHA-1': sha1, 'SHA-256': UNKNOWN_KEYS });
}

/** An account's data in a form that compares independently of storage order. */
async function snapshot(state: StateBackend, user: string) {
  const data = await readAccount(state, user);
  if (!data) return undefined;
  return {
    ...data,
    roster: [...data.roster].sort((a, b) => a.jid.localeCompare(b.jid)).map((item) => ({ ...item, groups: [...item.groups].sort() })),
    blocklist: [...data.blocklist].sort(),
  };
}

describe.each(STORES)('XEP-0227 import and export (%s store)', (store) => {
  let source: StateBackend;
  let target: StateBackend;
  beforeEach(async () => {
    [source, target] = [await makeBackend(store), await makeBackend(store)];
  });
  afterEach(async () => {
    await source.close();
    await target.close();
  });

  it('imports its own export back to the same accounts, rosters, offline messages, vCards, private XML, blocklists, PEP nodes and archives', async () => {
    await seed(source);
    const dir = join(root, `export-${store}`);
    const result = await exportAccounts(source, dir, DOMAIN);
    expect(result.accounts).toBe(2);
    expect(readdirSync(dir).sort()).toEqual([result.host, result.main].map((path) => path.slice(dir.length + 1)).sort());
    const report = await importAccounts(target, readImport([result.main], OPTIONS), OPTIONS);
    expect(report.imported.sort()).toEqual([`alice@${DOMAIN}`, `bob@${DOMAIN}`]);
    for (const user of [`alice@${DOMAIN}`, `bob@${DOMAIN}`]) {
      const before = await snapshot(source, user);
      expect(before).toBeDefined();
      await expect(snapshot(target, user)).resolves.toStrictEqual(before);
    }
    expect((await snapshot(target, `alice@${DOMAIN}`))?.pep.get('urn:xmpp:bookmarks:1')?.items.map((item) => item.id)).toEqual(['room1@conf.example', 'room2@conf.example']);
    await expect(target.pep.subscriptions(`alice@${DOMAIN}`)).resolves.toStrictEqual([
      { node: 'eu.siacs.conversations.axolotl.devicelist', jid: 'carol@remote.example/phone', options: { deliver: false, include_body: true } },
      { node: 'eu.siacs.conversations.axolotl.devicelist', jid: `bob@${DOMAIN}`, options: { deliver: true, include_body: false } },
      { node: 'urn:test:empty', jid: `bob@${DOMAIN}/desk`, options: { deliver: true, include_body: false } },
    ]);
    expect(readFileSync(result.host, 'utf8')).toContain(`<subscriptions node="urn:test:empty"><subscription jid="bob@${DOMAIN}/desk" subscription="subscribed"/></subscriptions>`);
    await expect(target.rosters.entry(`alice@${DOMAIN}`, 'dave@remote.example')).resolves.toStrictEqual(await source.rosters.entry(`alice@${DOMAIN}`, 'dave@remote.example'));
    expect((await snapshot(target, `alice@${DOMAIN}`))?.archive.map((entry) => entry.with)).toStrictEqual([`bob@${DOMAIN}`, 'carol@remote.example']);
    expect(readFileSync(result.host, 'utf8')).toContain("<archive xmlns=\"urn:xmpp:pie:0#mam\"><result xmlns=\"urn:xmpp:mam:2\"");
    // The exported file is the same whichever store it came from, apart from the salts.
    expect(readFileSync(result.host, 'utf8')).toContain("<scram-credentials xmlns=\"urn:xmpp:pie:0#scram\" mechanism=\"SCRAM-SHA-1\"><iter-count>4096</iter-count>");
  });

  it('imports its own export of persistent rooms back: configuration, affiliations, subject, vCard and archive, on each MUC domain', async () => {
    await seedRooms(source);
    const dir = join(root, `rooms-${store}`);
    const result = await exportAccounts(source, dir, DOMAIN, undefined, OPTIONS.mucDomains);
    expect(result.rooms).toBe(2);
    expect(result.roomHosts.map((path) => path.slice(dir.length + 1).replace(/-\d{8}T\d{6}-/, '-'))).toStrictEqual([`${MUC}-rooms.xml`, `chat.${DOMAIN}-rooms.xml`]);
    const data = readImportData([result.main], OPTIONS);
    expect(data.rooms.map((room) => room.jid).sort()).toStrictEqual([`heath@${MUC}`, `moor@chat.${DOMAIN}`]);
    const report = await importRooms(target, data.rooms, OPTIONS.limits);
    expect(report.imported.sort()).toStrictEqual([`heath@${MUC}`, `moor@chat.${DOMAIN}`]);
    for (const room of [`heath@${MUC}`, `moor@chat.${DOMAIN}`]) {
      const before = await readRoomData(source, room);
      expect(before).toBeDefined();
      await expect(readRoomData(target, room)).resolves.toStrictEqual(before);
    }
    const heath = await readRoomData(target, `heath@${MUC}`);
    expect(heath?.archive.map((entry) => [entry.with, entry.stamp])).toStrictEqual([0, 1, 2].map((i) => [`heath@${MUC}/${['First', 'Second', 'Third'][i]} Witch`, ARCHIVED_AT + i * 1000]));
    expect(heath?.subject).toStrictEqual({ text: 'When shall we three meet again?', nick: 'First Witch', stamp: ARCHIVED_AT - 60_000 });
    // The room is whole and empty: its avatar's hash from the vCard, a salt of its own, nobody in it.
    const imported = await target.muc.get(`heath@${MUC}`);
    expect(imported?.record.avatar).toBe(createHash('sha1').update(Buffer.from(PHOTO, 'base64')).digest('hex'));
    expect(imported?.record.salt).not.toBe('old salt');
    expect(imported?.record.locked).toBe(false);
    expect(imported?.occupants.size).toBe(0);
    await expect(target.muc.vcard(`heath@${MUC}`)).resolves.toBe(ROOM_VCARD);
    await expect(target.muc.get(`fleeting@${MUC}`)).resolves.toBeUndefined();
    await expect(target.muc.get(`reserved@${MUC}`)).resolves.toBeUndefined();
    await expect(target.muc.directory(`chat.${DOMAIN}`, { max: 10 })).resolves.toMatchObject({ rooms: [], count: 0 });
    const text = readFileSync(result.roomHosts[0] as string, 'utf8');
    expect(text).toContain("<query xmlns=\"http://jabber.org/protocol/muc#owner\"><x xmlns=\"jabber:x:data\" type=\"submit\">");
    expect(text).toContain(`<item jid="macduff@remote.example" affiliation="outcast"/>`);
    expect(text).toContain("<archive xmlns=\"urn:xmpp:pie:0#mam\"><result xmlns=\"urn:xmpp:mam:2\"");
    // A second import finds the rooms and leaves them as they are.
    const again = await importRooms(target, readImportData([result.main], OPTIONS).rooms, OPTIONS.limits);
    expect(again).toMatchObject({ imported: [], existing: expect.arrayContaining([`heath@${MUC}`, `moor@chat.${DOMAIN}`]) });
    expect(await target.archive.query(`heath@${MUC}`, { max: 10 })).toMatchObject({ entries: { length: 3 } });
  });

  it('clears what a failed earlier attempt left of a room archive before writing it', async () => {
    const room = `blasted@${MUC}`;
    await target.archive.append(room, { with: `${room}/Ghost`, xml: '<message xmlns="jabber:client"><body>stale</body></message>', stamp: ARCHIVED_AT }, { maxEntries: 10, maxAgeMs: 86_400_000, dedupeWindowMs: 1 });
    const owner = "<query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'><field var='muc#roomconfig_persistentroom'><value>1</value></field></x></query>";
    const admin = `<query xmlns='http://jabber.org/protocol/muc#admin'><item jid='hecate@${DOMAIN}' affiliation='owner'/></query>`;
    const path = file(serverData(`<user name='blasted'>${owner}${admin}</user>`, MUC));
    await importRooms(target, readImportData([path], OPTIONS).rooms, OPTIONS.limits);
    await expect(target.archive.query(room, { max: 10 })).resolves.toMatchObject({ entries: [] });
    expect((await target.muc.get(room))?.record.affiliations).toStrictEqual({ [`hecate@${DOMAIN}`]: 'owner' });
  });

  it.each([
    ['<user/>', 'the name attribute is missing'],
    ["<user name='r'/>", 'no configuration'],
    ["<user name='r'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'><field var='muc#roomconfig_persistentroom'><value>1</value></field></x></query></user>", 'the room has no owner'],
    [`<user name='r'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'/></query><query xmlns='http://jabber.org/protocol/muc#admin'><item jid='a@${DOMAIN}' affiliation='owner'/></query></user>`, 'the room is not persistent'],
    ["<user name='r'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'><field var='muc#roomconfig_whois'><value>everybody</value></field></x></query></user>", 'muc#roomconfig_whois is one of moderators, anyone'],
    ["<user name='r'><query xmlns='http://jabber.org/protocol/muc#admin'><item jid='a@x/y' affiliation='owner'/></query></user>", 'jid is not a bare JID'],
    ["<user name='r'><query xmlns='http://jabber.org/protocol/muc#admin'><item jid='a@x' affiliation='king'/></query></user>", 'not an item with an affiliation'],
    ["<user name='r'><message xmlns='jabber:client' type='chat'><body>hi</body></message></user>", 'a groupchat message setting the subject'],
    ["<user name='r'><message xmlns='jabber:client' type='groupchat' from='other@elsewhere/x'><subject>s</subject></message></user>", 'is not this room or one of its occupant JIDs'],
  ])('refuses the room %s', (room, reason) => {
    expect(() => readImportData([file(serverData(room, MUC))], OPTIONS)).toThrow(reason);
  });

  it("reads Prosody's archive section: results in any order, each with the other party as with", async () => {
    const stamp = (offset: number): string => new Date(ARCHIVED_AT + offset).toISOString();
    const result = (id: string, offset: number, from: string, to: string, body: string): string =>
      `<result xmlns='urn:xmpp:mam:2' id='${id}'><forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='${stamp(offset)}'/><message xmlns='jabber:client' from='${from}' to='${to}' type='chat'><body>${body}</body></message></forwarded></result>`;
    const path = file(serverData(`<user name='frank' password='pw'><archive xmlns='urn:xmpp:pie:0#mam'>${result('x2', 2000, `frank@${DOMAIN}/a`, 'gina@remote.example', 'second')}${result('x1', 1000, `hal@${DOMAIN}/b`, `frank@${DOMAIN}`, 'first')}</archive></user>`));
    await importAccounts(target, readImport([path], OPTIONS), OPTIONS);
    const page = await target.archive.query(`frank@${DOMAIN}`, { max: 10 });
    expect(page?.entries.map((entry) => [entry.with, entry.stamp])).toStrictEqual([[`hal@${DOMAIN}`, ARCHIVED_AT + 1000], ['gina@remote.example', ARCHIVED_AT + 2000]]);
  });

  it("reads PEP nodes as Prosody's mod_storage_xep0227 writes them, and refuses more nodes than limits.pepNodes", async () => {
    const pep = "<pubsub xmlns='http://jabber.org/protocol/pubsub#owner'><configure node='urn:xmpp:avatar:metadata'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/pubsub#node_config</value></field><field var='pubsub#access_model'><value>open</value></field><field var='pubsub#max_items'><value>1</value></field></x></configure></pubsub>" +
      "<pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='urn:xmpp:avatar:metadata'><item id='abc'><metadata xmlns='urn:xmpp:avatar:metadata'><info id='abc' bytes='1' type='image/png'/></metadata></item></items><items node='http://jabber.org/protocol/nick'><item id='current'><nick xmlns='http://jabber.org/protocol/nick'>Gina</nick></item></items></pubsub>";
    const path = file(serverData(`<user name='gina' password='pw'>${pep}</user>`));
    await importAccounts(target, readImport([path], OPTIONS), OPTIONS);
    const avatar = await target.pep.items(`gina@${DOMAIN}`, 'urn:xmpp:avatar:metadata');
    expect(avatar?.config).toMatchObject({ access_model: 'open', max_items: 1 });
    expect(avatar?.items.map((item) => item.id)).toEqual(['abc']);
    await expect(target.pep.items(`gina@${DOMAIN}`, 'http://jabber.org/protocol/nick')).resolves.toMatchObject({ config: { access_model: 'presence' }, items: [{ id: 'current', xml: '<nick xmlns="http://jabber.org/protocol/nick">Gina</nick>' }] });
    const tight = { ...OPTIONS, limits: { ...DEFAULT_LIMITS, pepNodes: 1 } };
    expect(() => readImport([path], tight)).toThrow(/2 PEP nodes, more than limits.pepNodes \(1\)/);
  });

  it("reads PEP subscriptions as Prosody 0.12 writes them (the state in a `subscribed` attribute, options as a form), and refuses more than limits.pepSubscriptionsPerNode", async () => {
    const options = "<options><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/pubsub#subscribe_options</value></field><field var='pubsub#include_body' type='boolean'><value>1</value></field></x></options>";
    const pep = "<pubsub xmlns='http://jabber.org/protocol/pubsub#owner'><configure node='urn:xmpp:microblog:0'><x xmlns='jabber:x:data' type='submit'><field var='pubsub#access_model'><value>open</value></field></x></configure>"
      + `<subscriptions node='urn:xmpp:microblog:0'><subscription jid='hal@${DOMAIN}' subscribed='subscribed'>${options}</subscription><subscription jid='ivy@remote.example/pc' subscription='subscribed'/><subscription jid='kim@remote.example' subscription='none'/></subscriptions></pubsub>`;
    const path = file(serverData(`<user name='gina' password='pw'>${pep}</user>`));
    await importAccounts(target, readImport([path], OPTIONS), OPTIONS);
    await expect(target.pep.subscriptions(`gina@${DOMAIN}`)).resolves.toStrictEqual([
      { node: 'urn:xmpp:microblog:0', jid: `hal@${DOMAIN}`, options: { deliver: true, include_body: true } },
      { node: 'urn:xmpp:microblog:0', jid: 'ivy@remote.example/pc', options: { deliver: true, include_body: false } },
    ]);
    expect(() => readImport([path], { ...OPTIONS, limits: { ...DEFAULT_LIMITS, pepSubscriptionsPerNode: 1 } })).toThrow(/node urn:xmpp:microblog:0: 2 subscriptions, more than limits.pepSubscriptionsPerNode \(1\)/);
    const bad = file(serverData(`<user name='gina' password='pw'><pubsub xmlns='http://jabber.org/protocol/pubsub#owner'><subscriptions node='n'><subscription jid='a b@${DOMAIN}' subscription='subscribed'/></subscriptions></pubsub></user>`));
    expect(() => readImport([bad], OPTIONS)).toThrow('is not a valid JID');
  });

  it('derives SCRAM keys from a plaintext password and reads a single-file export', async () => {
    const path = file(serverData("<user name='erin' password='pässword'><vCard xmlns='vcard-temp'><FN>Erin</FN></vCard></user>"));
    await importAccounts(target, readImport([path], OPTIONS), OPTIONS);
    const credentials = await target.accounts.credentials(`erin@${DOMAIN}`);
    expect(credentials && (await verifyPassword('pässword', credentials['SHA-256'], 'SHA-256'))).toBe(true);
    expect(credentials && (await verifyPassword('pässword', credentials['SHA-1'], 'SHA-1'))).toBe(true);
    await expect(target.personal.get(`erin@${DOMAIN}`, VCARD)).resolves.toBe('<vCard xmlns="vcard-temp"><FN>Erin</FN></vCard>');
  });

  it("reads ejabberd's doubly base64-encoded SCRAM-SHA-1 keys, its offline <delay/> and Prosody's pending requests", async () => {
    const salt = Buffer.from('salt-of-sixteen!');
    const keys = await deriveScramKeys('secret', 'SHA-1', salt, 4096);
    const twice = (base64: string): string => Buffer.from(base64).toString('base64');
    const path = file(serverData(`<user name='frank'><scram-credentials xmlns='urn:xmpp:pie:0#scram' mechanism='SCRAM-SHA-1'><iter-count>4096</iter-count><salt>${twice(keys.salt)}</salt><server-key>${twice(keys.serverKey)}</server-key><stored-key>${twice(keys.storedKey)}</stored-key></scram-credentials>`
      + `<offline-messages><message to='frank@${DOMAIN}' from='alice@${DOMAIN}' type='chat' id='x' xmlns='jabber:client'><delay from='${DOMAIN}' stamp='2026-12-07T18:38:43.936649Z' xmlns='urn:xmpp:delay'>Offline storage</delay><body>Hello</body></message></offline-messages>`
      + `<presence xmlns='jabber:client' type='subscribe' from='gina@remote.example'/></user>`));
    await importAccounts(target, readImport([path], OPTIONS), OPTIONS);
    const user = `frank@${DOMAIN}`;
    await expect(target.accounts.credentials(user)).resolves.toStrictEqual({ 'SHA-1': keys, 'SHA-256': UNKNOWN_KEYS });
    await expect(target.offline.peek(user)).resolves.toStrictEqual([
      { xml: `<message to="frank@${DOMAIN}" from="alice@${DOMAIN}" type="chat" id="x" xmlns="jabber:client"><body>Hello</body></message>`, stamp: Date.parse('2026-12-07T18:38:43.936Z') },
    ]);
    await expect(target.rosters.entry(user, 'gina@remote.example')).resolves.toStrictEqual({ pendingIn: `<presence xmlns="jabber:client" type="subscribe" from="gina@remote.example" to="${user}"/>` });
  });

  it('refuses a file with one bad user entry, naming the element and the reason, and writes nothing of any entry', async () => {
    const path = file(serverData("<user name='good' password='x'/><user name='bad' password='y'><query xmlns='jabber:iq:roster'><item jid='z@remote.example' subscription='sometimes'/></query></user>"));
    expect(() => readImport([path], OPTIONS)).toThrow(`${path}: host[@jid='${DOMAIN}']/user[@name='bad']/query[@xmlns='jabber:iq:roster']/item[@jid='z@remote.example']: subscription "sometimes" is not none, to, from or both`);
    await expect(target.accounts.exists(`good@${DOMAIN}`)).resolves.toBe(false);
  });

  it.each([
    ["<user name='nokey'/>", 'neither a password nor SCRAM credentials'],
    ["<user name='x' password='p'><scram-credentials xmlns='urn:xmpp:pie:0#scram' mechanism='SCRAM-MD5'/></user>", 'is not SCRAM-SHA-1 or SCRAM-SHA-256'],
    ["<user name='x' password='p'><query xmlns='jabber:iq:private'><message xmlns='jabber:client'/></query></user>", 'the namespace jabber:client cannot be stored'],
    ["<user name='x' password='p'><offline-messages><presence xmlns='jabber:client'/></offline-messages></user>", 'is not a jabber:client message'],
    ["<user name='a b' password='p'/>", 'is not a valid JID'],
    ["<user name='x' password='p'/><user name='x' password='q'/>", 'the account is listed twice'],
  ])('refuses %s', (users, reason) => {
    expect(() => readImport([file(serverData(users))], OPTIONS)).toThrow(reason);
  });

  it('refuses a host other than the served domain, a file that is not XEP-0227, and a file over the size guard', () => {
    expect(() => readImport([file("<server-data xmlns='urn:xmpp:pie:0'><host jid='other.example'/></server-data>")], OPTIONS)).toThrow('this deployment serves example.org');
    expect(() => readImport([file('<roster/>')], OPTIONS)).toThrow("the root element must be <server-data xmlns='urn:xmpp:pie:0'/>");
    expect(() => readImport([file('<server-data')], OPTIONS)).toThrow('not well-formed XML');
    expect(() => readImport([file(serverData(''))], { ...OPTIONS, maxFileBytes: 50 })).toThrow('more than the 50 allowed');
    expect(() => readImport([file("<server-data xmlns='urn:xmpp:pie:0' xmlns:xi='http://www.w3.org/2001/XInclude'><xi:include href='../etc/passwd'/></server-data>")], OPTIONS)).toThrow('href must name a file in the same directory');
  });

  it('refuses an entry past a configured limit', () => {
    const items = Array.from({ length: 3 }, (_, i) => `<item jid='c${i}@remote.example'/>`).join('');
    expect(() => readImport([file(serverData(`<user name='x' password='p'><query xmlns='jabber:iq:roster'>${items}</query></user>`))], { ...OPTIONS, limits: { ...DEFAULT_LIMITS, rosterItems: 2 } })).toThrow('3 contacts, more than limits.rosterItems (2)');
  });

  it('leaves an existing account as it was and reports it', async () => {
    await target.accounts.create(`henry@${DOMAIN}`, await deriveCredentials('old', 4096));
    const report = await importAccounts(target, readImport([file(serverData("<user name='henry' password='new'><vCard xmlns='vcard-temp'><FN>H</FN></vCard></user>"))], OPTIONS), OPTIONS);
    expect(report).toMatchObject({ imported: [], existing: [`henry@${DOMAIN}`] });
    await expect(target.personal.get(`henry@${DOMAIN}`, VCARD)).resolves.toBeUndefined();
  });

  it('clears what a failed earlier attempt left for an account that does not exist before writing', async () => {
    const user = `ivy@${DOMAIN}`;
    await target.offline.store(user, { xml: '<message xmlns="jabber:client"><body>stale</body></message>', stamp: 1 }, 10);
    await importAccounts(target, readImport([file(serverData("<user name='ivy' password='p'/>"))], OPTIONS), OPTIONS);
    await expect(target.offline.peek(user)).resolves.toStrictEqual([]);
    await expect(target.accounts.exists(user)).resolves.toBe(true);
  });
});
