// XEP-0352 Client State Indication over real sockets, on one node (both stores) and with the
// parties on two nodes: while a client is inactive, presence updates and chat states wait and
// a message with a body brings them out first, in order; <active/> and the bound (csiMaxHeld)
// write what waits; what waits is unacknowledged for XEP-0198, so a resumption on another
// connection (and node) delivers it. Also over WebSocket (RFC 7395).
//
// "Held" is shown without sleeping: the server has counted the stanza for stream management
// (read on the node, in this process), and a nonza round trip (<r/> answered by <a/>, neither
// of which flushes) returns with the stanza still not received.
import { DEFAULT_LIMITS } from '../../src/config.js';
import type { RookeryServer } from '../../src/server.js';
import { NS_CSI } from '../../src/xmpp/ns.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RawClient, xml } from '../support/client.js';
import { BACKENDS, PASSWORD, startTestServer, type TestServer } from '../support/server.js';
import { befriendInStore, NS_SM, SmClient } from '../support/sm-client.js';
import { WsClient } from '../support/ws-client.js';

const MAX_HELD = 3;
const COMPOSING = `<composing xmlns='http://jabber.org/protocol/chatstates'/>`;

/** Polls `check` until it holds; fails after `timeoutMs`. */
async function until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe.each(BACKENDS)('client state indication (%s)', (backend) => {
  let server: TestServer;
  let n = 0;

  beforeAll(async () => {
    server = await startTestServer({ backend, config: { limits: { ...DEFAULT_LIMITS, csiMaxHeld: MAX_HELD } } });
  });
  afterAll(async () => {
    await server?.stop();
  });

  /** Stanzas the server has counted for stream management towards `jid` (on whichever node holds it). */
  function counted(jid: string): number {
    for (const node of server.nodes) {
      const session = [...node.host.local.all()].find((candidate) => candidate.full_jid === jid);
      if (session?.sm) return (session.sm as unknown as { sent: number }).sent;
    }
    return -1;
  }

  /** Stanzas towards `jid` that its client has not acknowledged yet (the server's XEP-0198 queue). */
  function unacknowledged(jid: string): number {
    for (const node of server.nodes) {
      const session = [...node.host.local.all()].find((candidate) => candidate.full_jid === jid);
      if (session?.sm) return (session.sm as unknown as { queue: unknown[] }).queue.length;
    }
    return -1;
  }

  /** alice (stream-managed, on the first node of her placement) and bob (on the next node) are friends and online. */
  async function pair(): Promise<{ alice: SmClient; bob: RawClient; aliceNode: RookeryServer }> {
    const [a, b] = [`alice${++n}`, `bob${n}`];
    await server.createUser(a);
    await server.createUser(b);
    const domain = server.config.domain;
    await befriendInStore(server.server.state, `${a}@${domain}`, `${b}@${domain}`);
    const aliceNode = server.placeLogin(a);
    const alice = await SmClient.login({ port: aliceNode.ports().c2s, domain, username: a, password: PASSWORD, resource: 'phone' });
    alice.send('<presence/>');
    await alice.expect(xml`<presence from='${alice.jid}'/>`);
    const bob = await server.login(b, 'desk');
    bob.send('<presence/>');
    await alice.expect(xml`<presence from='${bob.jid}'/>`);
    await bob.expect(xml`<presence from='${alice.jid}'/>`);
    bob.clear();
    return { alice, bob, aliceNode };
  }

  /** Says <inactive/>, and proves the server took it (a round trip after it on the same stream). */
  async function inactive(alice: SmClient): Promise<void> {
    alice.raw?.send(`<inactive xmlns='${NS_CSI}'/>`);
    await alice.barrier();
  }

  /** Waits until `count` more stanzas were counted for alice, then a nonza round trip. */
  async function countedAndNotReceived(alice: SmClient, before: number, count: number): Promise<void> {
    await until(`${count} more stanzas counted for alice`, () => counted(alice.jid as string) >= before + count);
    await alice.ack();
  }

  const awayFrom = (jid: string | undefined) => xml`<presence from='${jid}'><show>away</show></presence>`;
  const composingFrom = (jid: string | undefined) => (element: import('ltx').Element) =>
    element.name === 'message' && element.attrs.from === jid && element.getChild('composing') !== undefined;

  it('offers urn:xmpp:csi:0 among the features of the authenticated stream only', async () => {
    const local = `carol${++n}`;
    await server.createUser(local);
    const client = await server.connect();
    const features = await client.openStream();
    expect(features.getChild('csi', NS_CSI)).toBeUndefined();
    if (!client.encrypted) {
      await client.startTls();
      await client.openStream();
    }
    expect((await client.authPlain(local, PASSWORD)).name).toBe('success');
    const authenticated = await client.openStream();
    expect(authenticated.getChild('csi', NS_CSI)).toBeDefined();
    await client.close();
  });

  it('holds presence updates and chat states while inactive, and writes them before the next message with a body, in order', async () => {
    const { alice, bob } = await pair();
    await inactive(alice);
    const before = counted(alice.jid as string);
    bob.send(`<presence><show>away</show></presence>`);
    bob.send(`<message to='${alice.bare}' type='chat'>${COMPOSING}</message>`);
    await countedAndNotReceived(alice, before, 2);
    expect(alice.raw?.take(awayFrom(bob.jid))).toEqual([]);
    expect(alice.raw?.take(composingFrom(bob.jid))).toEqual([]);

    bob.send(`<message to='${alice.bare}' type='chat' id='urgent'><body>wake up</body></message>`);
    const urgent = await alice.expect(xml`<message id='urgent'/>`);
    const log = alice.raw?.log ?? [];
    const presence = log.findIndex(awayFrom(bob.jid));
    const composing = log.findIndex(composingFrom(bob.jid));
    expect(presence).toBeGreaterThanOrEqual(0);
    expect(composing).toBeGreaterThan(presence);
    expect(log.indexOf(urgent)).toBeGreaterThan(composing);
  });

  it('writes what it held when the client says <active/>, and holds nothing after that', async () => {
    const { alice, bob } = await pair();
    await inactive(alice);
    const before = counted(alice.jid as string);
    bob.send(`<presence><show>away</show></presence>`);
    await countedAndNotReceived(alice, before, 1);
    expect(alice.raw?.take(awayFrom(bob.jid))).toEqual([]);
    alice.raw?.send(`<active xmlns='${NS_CSI}'/>`);
    await alice.expect(awayFrom(bob.jid));
    bob.send(`<presence><show>xa</show></presence>`);
    await alice.expect(xml`<presence from='${bob.jid}'><show>xa</show></presence>`);
  });

  it('asks an inactive client to acknowledge nothing it holds, and everything once <active/> writes it', async () => {
    const { alice, bob } = await pair();
    await inactive(alice);
    // Whatever was written so far (the answer to inactive()'s ping too) is acknowledged: no <r/> is still due.
    await until('alice acknowledged everything', () => unacknowledged(alice.jid as string) === 0);
    const asked = alice.requestsAnswered;
    const before = counted(alice.jid as string);
    bob.send(`<presence><show>away</show></presence>`);
    bob.send(`<presence><show>xa</show></presence>`);
    await until('both updates are counted', () => counted(alice.jid as string) >= before + 2);
    // Absence shows only over a window: three times the server's wait before an <r/> (100 ms).
    // Before the fix the server asked every 100 ms and the client answered the same <a/>.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(alice.requestsAnswered).toBe(asked);
    expect(unacknowledged(alice.jid as string)).toBe(2);
    alice.raw?.send(`<active xmlns='${NS_CSI}'/>`);
    await alice.expect(xml`<presence from='${bob.jid}'><show>xa</show></presence>`);
    await until('the server asked for an ack of what it wrote, and got it', () => unacknowledged(alice.jid as string) === 0);
    expect(alice.requestsAnswered).toBe(asked + 1);
  });

  it(`writes everything it held once ${MAX_HELD} stanzas wait (csiMaxHeld)`, async () => {
    const { alice, bob } = await pair();
    await inactive(alice);
    const before = counted(alice.jid as string);
    const shows = ['away', 'xa', 'dnd'];
    for (const show of shows.slice(0, MAX_HELD - 1)) bob.send(`<presence><show>${show}</show></presence>`);
    await countedAndNotReceived(alice, before, MAX_HELD - 1);
    expect(alice.raw?.take((element) => element.name === 'presence' && element.getChild('show') !== undefined)).toEqual([]);
    bob.send(`<presence><show>${shows[MAX_HELD - 1]}</show></presence>`);
    for (const show of shows) await alice.expect(xml`<presence from='${bob.jid}'><show>${show}</show></presence>`);
  });

  it('delivers what it held to a resumption of the stream on another connection (on another node in a cluster)', async () => {
    const { alice, bob, aliceNode } = await pair();
    await inactive(alice);
    const before = counted(alice.jid as string);
    bob.send(`<presence><show>away</show></presence>`);
    await countedAndNotReceived(alice, before, 1);
    alice.raw?.destroy();
    const other = server.nodes.find((node) => node !== aliceNode) ?? aliceNode;
    expect(await alice.resume(other.ports().c2s)).toBe(true);
    await alice.expect(awayFrom(bob.jid));
    // The resumed stream is active (XEP-0352 §4: the state belongs to the connection).
    bob.send(`<presence><show>xa</show></presence>`);
    await alice.expect(xml`<presence from='${bob.jid}'><show>xa</show></presence>`);
  });

  it.runIf(backend === 'cluster')('loses nothing it held when the node drains: the client gets it once, before or after resuming on the other node', async () => {
    const own = await startTestServer({ backend, config: { limits: { ...DEFAULT_LIMITS, csiMaxHeld: MAX_HELD } } });
    try {
      const [a, b] = [`drain${++n}`, `peer${n}`];
      await own.createUser(a);
      await own.createUser(b);
      const domain = own.config.domain;
      await befriendInStore(own.server.state, `${a}@${domain}`, `${b}@${domain}`);
      const aliceNode = own.placeLogin(a);
      const alice = await SmClient.login({ port: aliceNode.ports().c2s, domain, username: a, password: PASSWORD, resource: 'phone' });
      alice.send('<presence/>');
      await alice.expect(xml`<presence from='${alice.jid}'/>`);
      const bob = await own.login(b, 'desk');
      bob.send('<presence/>');
      await alice.expect(xml`<presence from='${bob.jid}'/>`);
      await inactive(alice);
      const session = [...aliceNode.host.local.all()].find((candidate) => candidate.full_jid === alice.jid);
      const sent = (): number => (session?.sm as unknown as { sent: number } | undefined)?.sent ?? -1;
      const before = sent();
      bob.send(`<presence><show>away</show></presence>`);
      await until('the presence update is counted', () => sent() >= before + 1);
      const first = alice.raw as RawClient;
      await aliceNode.drain(5000);
      const other = own.nodes.find((node) => node !== aliceNode) as RookeryServer;
      expect(await alice.resume(other.ports().c2s)).toBe(true);
      await alice.barrier();
      const away = awayFrom(bob.jid);
      const received = [...first.log, ...(alice.raw?.log ?? [])].filter(away);
      expect(received).toHaveLength(1);
    } finally {
      await own.stop();
    }
  });

  it.runIf(backend === 'cluster')('holds and writes the same over WebSocket', async () => {
    const [a, b] = [`web${++n}`, `friend${n}`];
    await server.createUser(a);
    await server.createUser(b);
    const domain = server.config.domain;
    await befriendInStore(server.server.state, `${a}@${domain}`, `${b}@${domain}`);
    const node = server.placeLogin(a);
    const web = await WsClient.connect(`ws://127.0.0.1:${server.httpPorts[server.nodes.indexOf(node)]}/xmpp-websocket`, domain);
    const jid = await web.login(a, PASSWORD, 'browser');
    web.send(`<enable xmlns='${NS_SM}'/>`);
    await web.expect('enabled');
    web.send(`<presence xmlns='jabber:client'/>`);
    await web.expect((element) => element.name === 'presence' && element.attrs.from === jid);
    const friend = await server.login(b, 'desk');
    friend.send('<presence/>');
    await web.expect((element) => element.name === 'presence' && element.attrs.from === friend.jid);
    web.send(`<inactive xmlns='${NS_CSI}'/>`);
    web.send(`<iq xmlns='jabber:client' type='get' id='after-inactive'><ping xmlns='urn:xmpp:ping'/></iq>`);
    await web.expect((element) => element.attrs.id === 'after-inactive');
    const before = counted(jid);
    friend.send(`<presence><show>away</show></presence>`);
    await until('the presence update is counted', () => counted(jid) >= before + 1);
    web.send(`<r xmlns='${NS_SM}'/>`);
    await web.expect('a');
    expect(web.inbox.filter((element) => element.name === 'presence' && element.getChild('show') !== undefined)).toEqual([]);
    web.send(`<active xmlns='${NS_CSI}'/>`);
    const away = await web.expect((element) => element.name === 'presence' && element.attrs.from === friend.jid);
    expect(away.getChildText('show')).toBe('away');
    web.terminate();
  });
});
