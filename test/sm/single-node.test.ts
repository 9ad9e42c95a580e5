// XEP-0198 stream management on one node, on both stores: enabling, acks with h counters,
// resumption on the same node with redelivery of what the client had not acknowledged,
// <failed/> for unknown, foreign and expired ids, and hibernation expiry settling every
// unacknowledged or queued stanza (offline storage for chats, errors for the rest).
import type { Element } from 'ltx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RawClient, xml } from '../support/client.js';
import { PASSWORD, startTestServer, STORES, type TestServer } from '../support/server.js';
import { befriendInStore, NS_SM, SmClient } from '../support/sm-client.js';

const NS_DELAY = 'urn:xmpp:delay';
const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';

const isMessage = (element: Element): boolean => element.name === 'message';
const bodies = (elements: Element[]): string[] => elements.map((element) => element.getChildText('body') ?? '');

/** Polls `check` until it holds; fails after `timeoutMs`. */
async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function helpers(get: () => TestServer) {
  let n = 0;
  const account = async (prefix: string): Promise<string> => {
    const local = `${prefix}${++n}`;
    await get().createUser(local);
    return local;
  };
  const smLogin = (local: string, resource = 'phone'): Promise<SmClient> =>
    SmClient.login({ port: get().port, domain: get().config.domain, username: local, password: PASSWORD, resource });
  /** A stream-managed client, available, with the contacts given subscribed both ways. */
  const smOnline = async (local: string, resource = 'phone'): Promise<SmClient> => {
    const client = await smLogin(local, resource);
    client.send('<presence/>');
    await client.expect(xml`<presence from='${client.jid}'/>`);
    return client;
  };
  /** A plain client (no stream management), available. */
  const online = async (local: string, resource = 'desk'): Promise<RawClient> => {
    const client = await get().login(local, resource);
    client.send('<presence/>');
    await client.expect(xml`<presence from='${client.jid}'/>`);
    client.clear();
    return client;
  };
  /** Waits until the server noticed the lost connection: the stream is detached in the ResumptionStore. */
  const detached = (client: SmClient): Promise<void> =>
    until('the stream is detached', async () => ((await get().server.state.resumption.get(client.bare, client.smId as string))?.detached_at ?? 0) > 0);
  return { account, smLogin, smOnline, online, detached };
}

describe.each(STORES)('stream management on one node (%s store)', (backend) => {
  let server: TestServer;
  const { account, smLogin, smOnline, online, detached } = helpers(() => server);

  beforeAll(async () => {
    server = await startTestServer({ backend });
  });
  afterAll(() => server.stop());

  it('enables resumption with an id and the hibernation time, and answers <r/> with the number of stanzas it handled', async () => {
    const alice = await smLogin(await account('alice'));
    expect(alice.smId).toMatch(/^[A-Za-z0-9_-]{16,}$/);
    alice.send('<presence/>');
    await alice.barrier();
    // The presence and the ping.
    await expect(alice.ack()).resolves.toBe(2);
    expect(alice.pending).toBe(0);
  });

  it('advertises the maximum hibernation time it keeps a session', async () => {
    const local = await account('alice');
    const client = await server.login(local, 'phone');
    client.send(`<enable xmlns='${NS_SM}' resume='true'/>`);
    const enabled = await client.expect('enabled');
    expect(enabled.attrs).toMatchObject({ resume: 'true', max: String(server.config.smHibernationSeconds) });
  });

  it('asks for an ack after sending stanzas and forgets what the client acknowledged', async () => {
    const alice = await smOnline(await account('alice'));
    const bob = await online(await account('bob'));
    const answeredBefore = alice.requestsAnswered;
    bob.send(`<message to='${alice.jid}' type='chat' id='ack1'><body>one</body></message>`);
    await alice.expect(xml`<message id='ack1'/>`);
    // The SM layer answers the server's <r/> with its count; the server then holds nothing for it.
    await until('the server acknowledged by the client', async () => (await server.server.state.resumption.get(alice.bare, alice.smId as string))?.acked === alice.inbound);
    expect(alice.requestsAnswered).toBeGreaterThan(answeredBefore);
    alice.drop();
    await detached(alice);
    await expect(alice.resume()).resolves.toBe(true);
    await alice.barrier();
    expect(alice.raw?.take(isMessage)).toEqual([]);
  });

  it('resumes a dropped session on the same node, keeping its full JID, and delivers what arrived while it was detached once and in order', async () => {
    const aliceLocal = await account('alice');
    const bobLocal = await account('bob');
    await befriendInStore(server.server.state, `${aliceLocal}@localhost`, `${bobLocal}@localhost`);
    const bob = await online(bobLocal);
    const alice = await smOnline(aliceLocal);
    const jid = alice.jid;
    await bob.expect(xml`<presence from='${jid}'/>`);
    alice.drop();
    await detached(alice);
    const sent = Array.from({ length: 10 }, (_, i) => `while detached ${i}`);
    for (const [i, body] of sent.entries()) bob.send(`<message to='${jid}' type='chat' id='d${i}'><body>${body}</body></message>`);
    await bob.barrier();

    await expect(alice.resume()).resolves.toBe(true);
    const received: Element[] = [];
    for (let i = 0; i < sent.length; i++) received.push(await alice.expect(isMessage));
    await alice.barrier();
    expect(bodies(received)).toEqual(sent);
    expect(received.every((message) => message.getChild('delay', NS_DELAY) !== undefined)).toBe(true);
    expect(alice.raw?.take(isMessage)).toEqual([]);
    expect(alice.jid).toBe(jid);
    await expect(server.server.state.registry.get(jid as string)).resolves.toMatchObject({ full_jid: jid, sm_token: alice.smId });

    alice.message(bob.jid as string, 'back again', 'back1');
    expect((await bob.expect(xml`<message id='back1'/>`)).attrs.from).toBe(jid);
    await bob.barrier();
    expect(bob.take(xml`<presence from='${jid}' type='unavailable'/>`)).toEqual([]);
  });

  it('redelivers after resuming only what the client had not received, by its h', async () => {
    const alice = await smOnline(await account('alice'));
    const bob = await online(await account('bob'));
    for (let i = 0; i < 5; i++) bob.send(`<message to='${alice.jid}' type='chat' id='seen${i}'><body>seen ${i}</body></message>`);
    for (let i = 0; i < 5; i++) await alice.expect(xml`<message id='seen${i}'/>`);
    // Received but never acknowledged to the server: the client's h covers them all the same.
    alice.drop();
    await detached(alice);
    bob.send(`<message to='${alice.jid}' type='chat' id='unseen'><body>unseen</body></message>`);
    await bob.barrier();
    await expect(alice.resume()).resolves.toBe(true);
    await alice.barrier();
    expect(alice.raw?.take(isMessage).map((message) => message.attrs.id)).toEqual(['unseen']);
  });

  it('tells the client after resuming how many of its stanzas it handled, so it sends only the rest again', async () => {
    const alice = await smOnline(await account('alice'));
    const bob = await online(await account('bob'));
    for (let i = 0; i < 3; i++) alice.message(bob.jid as string, `before ${i}`, `b${i}`);
    for (let i = 0; i < 3; i++) await bob.expect(xml`<message id='b${i}'/>`);
    alice.drop();
    await detached(alice);
    // Sent while offline: kept by the client until the server has handled them.
    alice.message(bob.jid as string, 'queued by the client', 'q1');
    await expect(alice.resume()).resolves.toBe(true);
    expect((await bob.expect(xml`<message id='q1'/>`)).getChildText('body')).toBe('queued by the client');
    await alice.barrier();
    await bob.barrier();
    expect(bob.take(isMessage)).toEqual([]);
    expect(alice.errors).toEqual([]);
  });

  it('answers a resumption with an unknown id with <failed/> and item-not-found', async () => {
    const local = await account('alice');
    const client = await server.connect();
    await client.openStream();
    await client.startTls();
    await client.openStream();
    expect((await client.authPlain(local, PASSWORD)).name).toBe('success');
    await client.openStream();
    client.send(`<resume xmlns='${NS_SM}' previd='no-such-stream' h='0'/>`);
    const answer = await client.expect((element) => element.name === 'failed' || element.name === 'resumed');
    expect(answer.name).toBe('failed');
    expect(answer.getChild('item-not-found', NS_STANZAS)).toBeDefined();
    // The stream goes on: the client may bind a fresh resource.
    const bound = await client.bind('fresh');
    expect(bound.attrs.type).toBe('result');
  });

  it('does not let another account resume a stream: <failed/> with item-not-found, and the owner still can', async () => {
    const alice = await smOnline(await account('alice'));
    const mallory = await account('mallory');
    alice.drop();
    await detached(alice);
    const intruder = await SmClient.login({ port: server.port, username: mallory, password: PASSWORD, resource: 'x' });
    intruder.smId = alice.smId;
    intruder.drop();
    await expect(intruder.resume(undefined, false)).resolves.toBe(false);
    expect(intruder.failures[0]?.getChild('item-not-found', NS_STANZAS)).toBeDefined();
    await expect(alice.resume()).resolves.toBe(true);
  });

  it('refuses a resumption before authentication and after binding with unexpected-request', async () => {
    const alice = await smOnline(await account('alice'));
    alice.raw?.send(`<resume xmlns='${NS_SM}' previd='${alice.smId}' h='0'/>`);
    const answer = await alice.expect('failed');
    expect(answer.getChild('unexpected-request', NS_STANZAS)).toBeDefined();
  });
});

describe.each(STORES)('hibernation expiry on one node (%s store)', (backend) => {
  let server: TestServer;
  const { account, smOnline, online, detached } = helpers(() => server);

  beforeAll(async () => {
    server = await startTestServer({ backend, config: { smHibernationSeconds: 1 } });
  });
  afterAll(() => server.stop());

  it('ends a session whose client does not come back: contacts see it go, chats it had not acknowledged or that arrived meanwhile go to offline storage, and the rest bounce', async () => {
    const aliceLocal = await account('alice');
    const bobLocal = await account('bob');
    await befriendInStore(server.server.state, `${aliceLocal}@localhost`, `${bobLocal}@localhost`);
    const bob = await online(bobLocal);
    const alice = await smOnline(aliceLocal);
    const jid = alice.jid as string;
    await bob.expect(xml`<presence from='${jid}'/>`);
    // Received, but never acknowledged: the server cannot know the client has it.
    bob.send(`<message to='${jid}' type='chat' id='unacked'><body>unacked</body></message>`);
    await alice.expect(xml`<message id='unacked'/>`);
    alice.drop();
    await detached(alice);
    bob.send(`<message to='${jid}' type='chat' id='queued1'><body>queued 1</body></message>`);
    bob.send(`<message to='${jid}' id='queued2'><body>queued 2</body></message>`);
    bob.send(`<message to='${jid}' type='headline' id='news'><body>news</body></message>`);
    bob.send(`<iq to='${jid}' type='get' id='ver1'><query xmlns='jabber:iq:version'/></iq>`);
    await bob.barrier();
    expect(bob.take(xml`<presence from='${jid}' type='unavailable'/>`)).toEqual([]);

    await bob.expect(xml`<presence from='${jid}' type='unavailable'/>`, 5000);
    const iqError = await bob.expect(xml`<iq id='ver1' type='error'/>`);
    expect(iqError.getChild('error')?.getChild('recipient-unavailable', NS_STANZAS)).toBeDefined();
    const headlineError = await bob.expect(xml`<message id='news' type='error'/>`);
    expect(headlineError.getChild('error')?.getChild('recipient-unavailable', NS_STANZAS)).toBeDefined();
    await expect(server.server.state.registry.get(jid)).resolves.toBeUndefined();
    await expect(server.server.state.resumption.get(alice.bare, alice.smId as string)).resolves.toBeUndefined();

    // The client comes back too late: the id is gone.
    await expect(alice.resume(undefined, false)).resolves.toBe(false);
    expect(alice.failures[0]?.getChild('item-not-found', NS_STANZAS)).toBeDefined();

    const again = await server.login(aliceLocal, 'laptop');
    again.send('<presence/>');
    const stored: Element[] = [];
    for (let i = 0; i < 3; i++) stored.push(await again.expect(isMessage));
    await again.barrier();
    expect(again.take(isMessage)).toEqual([]);
    expect(stored.map((message) => message.attrs.id)).toEqual(['unacked', 'queued1', 'queued2']);
    expect(stored.every((message) => message.getChild('delay', NS_DELAY) !== undefined)).toBe(true);
  });
});
