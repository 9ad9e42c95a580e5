// XEP-0160 (best practices for handling offline messages) with XEP-0203 delays, over real sockets.
import type { Element } from 'ltx';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../src/config.js';
import { type RawClient, xml } from '../support/client.js';
import { useTestServer } from '../support/fixture.js';
import { BACKENDS } from '../support/server.js';

const NS_DELAY = 'urn:xmpp:delay';
const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';
const OFFLINE_LIMIT = 3;

const isMessage = (element: Element): boolean => element.name === 'message';

describe.each(BACKENDS)('offline messages (%s backend)', (backend) => {
  const fixture = useTestServer({ backend, config: { limits: { ...DEFAULT_LIMITS, offlineMessages: OFFLINE_LIMIT } } });
  /** A fresh account per test, so tests never share rosters or sessions. */
  const user = fixture.user;
  const sender = async (): Promise<RawClient> => fixture.server.login(await user('alice'), 'desk');
  /** Sends `count` chat messages (ids m1, m2, ...) to `to` and waits until the server handled them. */
  const sendMessages = async (from: RawClient, to: string, count: number): Promise<void> => {
    for (let i = 1; i <= count; i++) from.send(`<message to='${to}' type='chat' id='m${i}'><body>message ${i}</body></message>`);
    await from.barrier();
  };


  it('stores a message for an account with no available resource and gives the sender no error', async () => {
    const alice = await sender();
    const bob = await user('bob');
    alice.send(`<message to='${bob}@localhost' type='chat' id='m1'><body>Wherefore art thou?</body></message>`);
    await alice.barrier();
    expect(alice.take(isMessage)).toEqual([]);
  });

  it('delivers stored messages in order on the next initial presence, with a delay from the domain', async () => {
    const alice = await sender();
    const bob = await user('bob');
    const before = Date.now();
    await sendMessages(alice, `${bob}@localhost`, 2);
    const client = await fixture.server.login(bob, 'desk');
    await client.barrier();
    expect(client.take(isMessage)).toEqual([]); // not before presence
    client.send('<presence/>');
    const first = await client.expect(xml`<message from='${alice.jid}' to='${bob}@localhost' type='chat' id='m1'><body>message 1</body><delay xmlns='${NS_DELAY}' from='localhost'/></message>`);
    const second = await client.expect(xml`<message id='m2'><body>message 2</body><delay xmlns='${NS_DELAY}' from='localhost'/></message>`);
    expect(client.log.indexOf(first)).toBeLessThan(client.log.indexOf(second));
    const stamp = Date.parse(String(first.getChild('delay', NS_DELAY)?.attrs.stamp));
    expect(stamp).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(stamp).toBeLessThanOrEqual(Date.now());
  });

  it('delivers stored messages once', async () => {
    const alice = await sender();
    const bob = await user('bob');
    await sendMessages(alice, `${bob}@localhost`, 1);
    const first = await fixture.server.login(bob, 'desk');
    first.send('<presence/>');
    await first.expect(xml`<message id='m1'/>`);
    const second = await fixture.server.login(bob, 'phone');
    second.send('<presence/>');
    await second.expect(xml`<presence from='${second.jid}'/>`);
    await second.barrier();
    expect(second.take(isMessage)).toEqual([]);
  });

  it('keeps the original to of a message for a resource that is gone', async () => {
    const alice = await sender();
    const bob = await user('bob');
    alice.send(`<message to='${bob}@localhost/gone' type='chat' id='m1'><body>hi</body></message>`);
    await alice.barrier();
    expect(alice.take(isMessage)).toEqual([]);
    const client = await fixture.server.login(bob, 'desk');
    client.send('<presence/>');
    await client.expect(xml`<message to='${bob}@localhost/gone' id='m1'><delay xmlns='${NS_DELAY}' from='localhost'/></message>`);
  });

  it('does not deliver on initial presence with a negative priority, but on the next one with priority 0', async () => {
    const alice = await sender();
    const bob = await user('bob');
    await sendMessages(alice, `${bob}@localhost`, 1);
    const client = await fixture.server.login(bob, 'desk');
    client.send('<presence><priority>-1</priority></presence>');
    await client.expect(xml`<presence from='${client.jid}'/>`);
    await client.barrier();
    expect(client.take(isMessage)).toEqual([]);
    // Raising the priority is not a new initial presence (XEP-0160 §3, Prosody too).
    client.send('<presence><priority>1</priority></presence>');
    await client.expect(xml`<presence from='${client.jid}'><priority>1</priority></presence>`);
    await client.barrier();
    expect(client.take(isMessage)).toEqual([]);
    // Unavailable, then available again: that is initial presence.
    client.send("<presence type='unavailable'/>");
    client.send('<presence/>');
    await client.expect(xml`<message id='m1'><delay xmlns='${NS_DELAY}' from='localhost'/></message>`);
  });

  it('stores messages to an account whose only resources have negative priority', async () => {
    const alice = await sender();
    const bob = await user('bob');
    const negative = await fixture.server.login(bob, 'negative');
    negative.send('<presence><priority>-1</priority></presence>');
    await negative.expect(xml`<presence from='${negative.jid}'/>`);
    await sendMessages(alice, `${bob}@localhost`, 1);
    expect(alice.take(isMessage)).toEqual([]);
    const client = await fixture.server.login(bob, 'desk');
    client.send('<presence/>');
    await client.expect(xml`<message id='m1'><delay xmlns='${NS_DELAY}' from='localhost'/></message>`);
  });

  it(`bounces messages past the per-account limit of ${OFFLINE_LIMIT} and keeps the stored ones`, async () => {
    const alice = await sender();
    const bob = await user('bob');
    await sendMessages(alice, `${bob}@localhost`, OFFLINE_LIMIT + 1);
    const bounce = await alice.expect(xml`<message from='${bob}@localhost' type='error' id='m${OFFLINE_LIMIT + 1}'><error type='cancel'><service-unavailable xmlns='${NS_STANZAS}'/></error></message>`);
    expect(bounce.getChildText('body')).toBe(`message ${OFFLINE_LIMIT + 1}`);
    expect(alice.take(xml`<message type='error'/>`)).toEqual([]); // only the one past the limit
    const client = await fixture.server.login(bob, 'desk');
    client.send('<presence/>');
    for (let i = 1; i <= OFFLINE_LIMIT; i++) await client.expect(xml`<message id='m${i}'/>`);
    await client.barrier();
    expect(client.take(isMessage)).toEqual([]);
  });

  it('does not store headlines or groupchat messages', async () => {
    const alice = await sender();
    const bob = await user('bob');
    alice.send(`<message to='${bob}@localhost' type='headline' id='h1'><body>News</body></message>`);
    alice.send(`<message to='${bob}@localhost' type='groupchat' id='g1'><body>Room</body></message>`);
    await alice.expect(xml`<message type='error' id='g1'><error type='cancel'><service-unavailable xmlns='${NS_STANZAS}'/></error></message>`);
    await alice.barrier();
    expect(alice.take(xml`<message id='h1'/>`)).toEqual([]);
    const client = await fixture.server.login(bob, 'desk');
    client.send('<presence/>');
    await client.expect(xml`<presence from='${client.jid}'/>`);
    await client.barrier();
    expect(client.take(isMessage)).toEqual([]);
  });

  it('delivers to the resource that sent initial presence, not to its unavailable siblings', async () => {
    const alice = await sender();
    const bob = await user('bob');
    await sendMessages(alice, `${bob}@localhost`, 1);
    const idle = await fixture.server.login(bob, 'idle');
    const client = await fixture.server.login(bob, 'desk');
    client.send('<presence/>');
    await client.expect(xml`<message id='m1'/>`);
    await client.barrier();
    await idle.barrier();
    expect(idle.take(isMessage)).toEqual([]);
  });
});
