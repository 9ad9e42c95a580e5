// Group chat and PEP across federation, with a real Prosody (Debian's package, mod_muc and
// mod_pep) and a 3-node Rookery cluster on Redis. The Rookery occupants are on nodes b and c;
// Prosody's stream in lands on node a (it reaches rookery-muc.test and its MUC domain on node a's
// address by the test route plugin, test/support/prosody.ts), and every node keeps its own streams out. So a remote
// occupant is reached from whichever node handles the room's stanza, never through the bus.
import { mkdtempSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Element } from 'ltx';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { defaultConfig, type Config } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { type RunningNode, startNode } from '../../src/main.js';
import { deriveCredentials } from '../../src/sasl/credentials.js';
import { RawClient } from '../support/client.js';
import { freePorts } from '../support/cluster.js';
import { prosodyAvailable, startProsody, type Prosody } from '../support/prosody.js';
import { PASSWORD } from '../support/server.js';
import { NS_MUC, NS_MUC_OWNER, NS_MUC_USER, statusCodes } from '../muc/support.js';
import { CAPS_NODE, eventItems, publishXml } from '../support/pep.js';

const DOMAIN = 'rookery-muc.test';
const ADDRESSES = ['127.20.0.11', '127.20.0.12', '127.20.0.13'];
const MUC = `conference.${DOMAIN}`;
const PEER = 'prosody-muc.test';
const PEER_MUC = `conference.${PEER}`;
const WAIT = 20_000;
const NS_TUNE = 'http://jabber.org/protocol/tune';
const NS_INFO = 'http://jabber.org/protocol/disco#info';

describe.skipIf(!prosodyAvailable())('group chat and PEP with Prosody, from a 3-node cluster', () => {
  let prosody: Prosody;
  const nodes: RunningNode[] = [];
  let users = 0;

  beforeAll(async () => {
    const [c2s, s2s] = (await freePorts(2)) as [number, number];
    prosody = await startProsody(mkdtempSync(join(tmpdir(), 'rk-s2s-')), PEER, c2s, s2s, {
      muc: PEER_MUC,
      pep: true,
      routes: { [DOMAIN]: { host: ADDRESSES[0] as string, port: 5269 }, [MUC]: { host: ADDRESSES[0] as string, port: 5269 } },
    });
    const shared: Config = {
      ...defaultConfig(),
      domain: DOMAIN,
      c2sPort: 0,
      c2sTlsPort: 0,
      httpPort: 0,
      s2sPort: 5269,
      s2sRoutes: `${PEER}=127.0.0.1:${s2s},${PEER_MUC}=127.0.0.1:${s2s}`,
      redisUrl: inject('redisUrl'),
      redisPrefix: `s2smuc${randomBytes(4).toString('hex')}`,
    };
    for (const [index, address] of ADDRESSES.entries()) nodes.push(await startNode({ ...shared, bindAddress: address, nodeId: `s2smuc-${index}` }, silentLogger()));
  }, 60_000);
  afterAll(async () => {
    for (const node of nodes.reverse()) await node.stop();
    if (process.env.S2S_LOG) console.log(prosody?.log());
    await prosody?.stop();
  });

  const local = async (index: number, name: string): Promise<RawClient> => {
    const user = `${name}${++users}x${process.pid}`;
    await (nodes[0] as RunningNode).state.accounts.create(`${user}@${DOMAIN}`, await deriveCredentials(PASSWORD, 4096));
    const node = nodes[index] as RunningNode;
    const client = await RawClient.connect({ host: ADDRESSES[index], port: node.server.ports().c2s, domain: DOMAIN });
    await client.login(user, PASSWORD, 'r');
    return client;
  };
  const remote = async (name: string): Promise<RawClient> => {
    const user = `${name}${++users}x${process.pid}`;
    prosody.register(user, PASSWORD);
    const client = await RawClient.connect({ port: prosody.c2sPort, domain: PEER });
    await client.login(user, PASSWORD, 'p');
    return client;
  };
  const presenceFrom = (from: string, codes?: string[], type?: string) => (el: Element): boolean =>
    el.name === 'presence' && el.attrs.from === from && el.attrs.type === type && (codes === undefined || codes.every((code) => statusCodes(el).includes(code)));
  const groupchat = (from: string, body: string) => (el: Element): boolean =>
    el.name === 'message' && el.attrs.type === 'groupchat' && el.attrs.from === from && el.getChildText('body') === body;
  const enter = async (client: RawClient, room: string, nick: string): Promise<Element> => {
    client.send(`<presence to='${room}/${nick}'><x xmlns='${NS_MUC}'/></presence>`);
    return client.expect(presenceFrom(`${room}/${nick}`, ['110']), WAIT);
  };
  const subjectOf = (room: string) => (el: Element): boolean => el.name === 'message' && el.attrs.from === room && el.getChild('subject') !== undefined;
  /** An instant room (XEP-0045 §10.1.2). */
  const create = async (owner: RawClient, room: string, nick: string): Promise<void> => {
    expect(statusCodes(await enter(owner, room, nick))).toContain('201');
    await owner.expect(subjectOf(room), WAIT);
    const reply = await owner.iq('set', `<query xmlns='${NS_MUC_OWNER}'><x xmlns='jabber:x:data' type='submit'/></query>`, room);
    expect(reply.attrs.type).toBe('result');
  };

  it('lets a Prosody user enter a room of ours, talk both ways with occupants on two nodes, and leave', async () => {
    const alice = await local(1, 'alice');
    const carol = await local(2, 'carol');
    const bob = await remote('bob');
    const room = `talk${users}@${MUC}`;
    await create(alice, room, 'alice');
    await enter(carol, room, 'carol');
    await carol.expect(subjectOf(room), WAIT);
    const self = await enter(bob, room, 'bob');
    expect(self.getChild('x', NS_MUC_USER)?.getChild('item')?.attrs.role).toBe('participant');
    // The occupant list came first, then the subject.
    expect(bob.inbox.some(presenceFrom(`${room}/alice`))).toBe(true);
    expect(bob.inbox.some(presenceFrom(`${room}/carol`))).toBe(true);
    await bob.expect(subjectOf(room), WAIT);
    await alice.expect(presenceFrom(`${room}/bob`), WAIT);
    await carol.expect(presenceFrom(`${room}/bob`), WAIT);

    bob.send(`<message to='${room}' type='groupchat' id='b1'><body>hello from prosody</body></message>`);
    for (const client of [alice, carol, bob]) await client.expect(groupchat(`${room}/bob`, 'hello from prosody'), WAIT);
    alice.send(`<message to='${room}' type='groupchat' id='a1'><body>hello from node b</body></message>`);
    for (const client of [alice, carol, bob]) await client.expect(groupchat(`${room}/alice`, 'hello from node b'), WAIT);
    carol.send(`<message to='${room}' type='groupchat' id='c1'><body>hello from node c</body></message>`);
    await bob.expect(groupchat(`${room}/carol`, 'hello from node c'), WAIT);

    bob.send(`<presence to='${room}/bob' type='unavailable'/>`);
    await bob.expect(presenceFrom(`${room}/bob`, ['110'], 'unavailable'), WAIT);
    await alice.expect(presenceFrom(`${room}/bob`, [], 'unavailable'), WAIT);
    await carol.expect(presenceFrom(`${room}/bob`, [], 'unavailable'), WAIT);
    for (const client of [alice, carol, bob]) await client.close();
  }, 60_000);

  it('lets users of ours on two nodes enter a room on Prosody and talk with its users', async () => {
    const alice = await local(1, 'alice');
    const carol = await local(2, 'carol');
    const bob = await remote('bob');
    const room = `there${users}@${PEER_MUC}`;
    await create(bob, room, 'bob');
    await enter(alice, room, 'alice');
    await enter(carol, room, 'carol');
    await bob.expect(presenceFrom(`${room}/alice`), WAIT);
    await bob.expect(presenceFrom(`${room}/carol`), WAIT);
    alice.send(`<message to='${room}' type='groupchat' id='a2'><body>to prosody's room</body></message>`);
    for (const client of [alice, carol, bob]) await client.expect(groupchat(`${room}/alice`, "to prosody's room"), WAIT);
    bob.send(`<message to='${room}' type='groupchat' id='b2'><body>from prosody's room</body></message>`);
    for (const client of [alice, carol]) await client.expect(groupchat(`${room}/bob`, "from prosody's room"), WAIT);
    for (const client of [alice, carol, bob]) await client.close();
  }, 60_000);

  const caps = (features: string[]): string => {
    const octets = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));
    const input = ['client/pc//Test<', ...[...features].sort(octets).map((feature) => `${feature}<`)].join('');
    return createHash('sha1').update(input).digest('base64');
  };
  /** Answers every disco#info for our caps node, whoever asks (our server, or Prosody's mod_pep for a contact). */
  const answerCaps = (client: RawClient, features: string[]): void => {
    const ver = caps(features);
    const query = `<query xmlns='${NS_INFO}' node='${CAPS_NODE}#${ver}'><identity category='client' type='pc' name='Test'/>${features.map((f) => `<feature var='${f}'/>`).join('')}</query>`;
    const answer = (): void => {
      void client.expect((el) => el.name === 'iq' && el.attrs.type === 'get' && el.getChild('query', NS_INFO) !== undefined, 60_000).then((iq) => {
        client.send(`<iq type='result' id='${String(iq.attrs.id)}' to='${String(iq.attrs.from)}'>${query}</iq>`);
        answer();
      }, () => undefined);
    };
    answer();
    client.send(`<presence><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='${CAPS_NODE}' ver='${ver}'/></presence>`);
  };

  it('sends PEP events each way between contacts on Rookery and Prosody, by their caps', async () => {
    const dave = await local(2, 'dave');
    const bob = await remote('bob');
    // Available with caps first (a subscription request reaches available resources), then a subscription both ways.
    const features = [NS_INFO, `urn:test:${randomBytes(6).toString('hex')}`, `${NS_TUNE}+notify`];
    answerCaps(dave, features);
    answerCaps(bob, features);
    dave.send(`<presence type='subscribe' to='${bob.bare}'/>`);
    await bob.expect((el) => el.name === 'presence' && el.attrs.type === 'subscribe', WAIT);
    bob.send(`<presence type='subscribed' to='${dave.bare}'/>`);
    bob.send(`<presence type='subscribe' to='${dave.bare}'/>`);
    await dave.expect((el) => el.name === 'presence' && el.attrs.type === 'subscribe', WAIT);
    dave.send(`<presence type='subscribed' to='${bob.bare}'/>`);
    await dave.expect(presenceFrom(String(bob.jid)), WAIT);
    await bob.expect(presenceFrom(String(dave.jid)), WAIT);
    // Each server has asked for the other's client's caps by now, or soon: publish until seen.
    const seen = async (publisher: RawClient, watcher: RawClient, label: string): Promise<Element> => {
      for (let attempt = 0; ; attempt++) {
        const title = `${label}${attempt}`;
        await publisher.iq('set', publishXml(NS_TUNE, 'current', `<tune xmlns='${NS_TUNE}'><title>${title}</title></tune>`));
        try {
          return await watcher.expect((el) => eventItems(el, NS_TUNE)?.getChild('item')?.getChild('tune')?.getChildText('title') === title, attempt < 4 ? 2000 : WAIT);
        } catch (error) {
          if (attempt >= 4) throw error;
        }
      }
    };
    expect((await seen(dave, bob, 'ours')).attrs.from).toBe(dave.bare);
    expect((await seen(bob, dave, 'theirs')).attrs.from).toBe(bob.bare);
    for (const client of [dave, bob]) await client.close();
  }, 90_000);

  // Last: it stops Prosody.
  it('removes a Prosody occupant with 333 once its server cannot be reached, as Prosody does on a bounce', async () => {
    const alice = await local(1, 'alice');
    const carol = await local(2, 'carol');
    const bob = await remote('bob');
    const room = `gone${users}@${MUC}`;
    await create(alice, room, 'alice');
    await enter(carol, room, 'carol');
    await enter(bob, room, 'bob');
    await alice.expect(presenceFrom(`${room}/bob`), WAIT);
    await carol.expect(presenceFrom(`${room}/bob`), WAIT);
    await prosody.stop();
    // Node b's stream out is seen closed, so the reflection to bob needs a new one, which fails: bounced.
    const streamGone = () => !(nodes[1]?.server.s2s?.streams() ?? []).some((stream) => stream.direction === 'out' && stream.remote === PEER);
    for (let wait = 0; wait < 100 && !streamGone(); wait++) await new Promise((resolve) => setTimeout(resolve, 100));
    alice.send(`<message to='${room}' type='groupchat' id='a3'><body>anyone there?</body></message>`);
    for (const client of [alice, carol]) {
      const kicked = await client.expect(presenceFrom(`${room}/bob`, ['333'], 'unavailable'), WAIT);
      expect(kicked.getChildText('status')).toBe('Kicked: remote server not found');
      expect(kicked.getChild('x', NS_MUC_USER)?.getChild('item')?.attrs.role).toBe('none');
    }
    // The room holds alice and carol only.
    const info = await alice.iq('get', `<query xmlns='${NS_INFO}'/>`, room);
    const occupants = info.getChild('query')?.getChild('x', 'jabber:x:data')?.getChildren('field').find((field) => field.attrs.var === 'muc#roominfo_occupants');
    expect(occupants?.getChildText('value')).toBe('2');
    for (const client of [alice, carol]) await client.close();
  }, 60_000);
});
