// End to end with an independent, third-party client (@xmpp/client): everything here goes over
// real sockets, through the library's own STARTTLS, SASL, resource binding and stanza handling.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, startTestServer, type TestServer } from '../support/server.js';
import {
  type Element,
  errorCondition,
  is,
  NS_DELAY,
  NS_PING,
  NS_ROSTER,
  rosterItems,
  xml,
  XmppTestClient,
  type XmppClientOptions,
  bind2Resource,
} from '../support/xmpp-client.js';

const PASSWORD = 'correct horse battery staple';

describe.each(BACKENDS)('@xmpp/client against a %s-backed server', (backend) => {
  let server: TestServer;
  const clients: XmppTestClient[] = [];
  let accounts = 0;

  beforeAll(async () => {
    server = await startTestServer({ backend });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.stop()));
  });
  afterAll(async () => {
    await server?.stop();
  });

  /** A fresh account (unique local part, so tests never see each other's traffic). */
  async function account(name: string): Promise<string> {
    const local = `${name}${++accounts}`;
    await server.createUser(local, PASSWORD);
    return local;
  }

  function create(username: string, options: Partial<XmppClientOptions> = {}): XmppTestClient {
    const client = new XmppTestClient(server, { username, password: PASSWORD, ...options });
    clients.push(client);
    return client;
  }

  async function login(username: string, resource: string, options: Partial<XmppClientOptions> = {}): Promise<XmppTestClient> {
    const client = create(username, { resource, ...options });
    await client.start();
    return client;
  }

  /** Logs in, fetches the roster (an interested resource) and sends available presence. */
  async function online(username: string, resource: string, priority?: number): Promise<XmppTestClient> {
    const client = await login(username, resource);
    await client.xmpp.iqCaller.get(xml('query', { xmlns: NS_ROSTER }));
    await client.available(priority);
    await client.expect(is.presence(client.jid), 5000, 'its own presence reflected');
    return client;
  }

  function jidOf(local: string): string {
    return `${local}@${server.config.domain}`;
  }

  /** RFC 6121 §3.1: `from` asks, `to` approves; returns once `from` has the approval. */
  async function subscribe(from: XmppTestClient, to: XmppTestClient): Promise<void> {
    await from.send(xml('presence', { to: to.bareJid, type: 'subscribe' }));
    await to.expect(is.presence(from.bareJid, 'subscribe'), 5000, 'the subscription request');
    await to.send(xml('presence', { to: from.bareJid, type: 'subscribed' }));
    await from.expect(is.presence(to.bareJid, 'subscribed'), 5000, 'the approval');
  }

  /** Proves everything `sender` sent has been routed and everything routed to `receivers` has arrived. */
  async function settle(sender: XmppTestClient, ...receivers: XmppTestClient[]): Promise<void> {
    await sender.barrier();
    for (const receiver of receivers) await receiver.barrier();
  }

  it('logs in over STARTTLS with SCRAM-SHA-1 on a TLS 1.2 or newer socket', async () => {
    const alice = await account('alice');
    const client = create(alice, { resource: 'laptop' });
    const jid = await client.start();

    // Bind2 (XEP-0386): the library's resource is the tag of a resource the server derives.
    expect(jid).toMatch(bind2Resource('laptop'));
    expect(jid.startsWith(`${jidOf(alice)}/`)).toBe(true);
    expect(client.status).toBe('online');
    // The first stream offered STARTTLS; the client took it before authenticating.
    expect(client.sent.map((element) => element.name)).toContain('starttls');
    expect(client.saslMechanism).toBe('SCRAM-SHA-1');
    const tls = client.tlsSocket;
    expect(tls).toBeDefined();
    expect(['TLSv1.2', 'TLSv1.3']).toContain(tls?.getProtocol());
    // PLAIN was offered too (over TLS), yet the client preferred SCRAM-SHA-1.
    const mechanisms = client.nonzas
      .flatMap((element) => element.getChild('mechanisms', 'urn:ietf:params:xml:ns:xmpp-sasl')?.getChildren('mechanism') ?? [])
      .map((mechanism) => mechanism.getText());
    expect(mechanisms).toContain('SCRAM-SHA-1');
    expect((await client.barrier()).attrs.type).toBe('result');
  });

  it('logs in over direct TLS on the XEP-0368 port', async () => {
    const alice = await account('alice');
    const client = create(alice, { resource: 'phone', directTls: true });
    const jid = await client.start();

    expect(jid).toMatch(bind2Resource('phone'));
    expect(jid.startsWith(`${jidOf(alice)}/`)).toBe(true);
    expect(client.sent.map((element) => element.name)).not.toContain('starttls');
    expect(['TLSv1.2', 'TLSv1.3']).toContain(client.tlsSocket?.getProtocol());
    expect(client.saslMechanism).toBe('SCRAM-SHA-1');
    expect((await client.barrier()).attrs.type).toBe('result');
  });

  it('refuses a wrong password and an unknown account with not-authorized', async () => {
    const alice = await account('alice');
    const wrong = create(alice, { resource: 'x', password: 'not the password' });
    await expect(wrong.start()).rejects.toMatchObject({ name: 'SASLError', condition: 'not-authorized' });
    // One <failure/> for the one attempt; the library reports it (it does not retry).
    expect(wrong.nonzas.filter((element) => element.name === 'failure').map((failure) => failure.getChildElements()[0]?.name)).toEqual(['not-authorized']);
    expect(wrong.errors.length).toBeGreaterThanOrEqual(1);
    expect(wrong.errors.every((error) => error.condition === 'not-authorized')).toBe(true);
    expect(wrong.statuses).not.toContain('online');
    expect(wrong.xmpp.jid?.resource ?? '').toBe('');

    const nobody = create(`nobody${++accounts}`, { resource: 'x' });
    await expect(nobody.start()).rejects.toMatchObject({ name: 'SASLError', condition: 'not-authorized' });
    expect(nobody.statuses).not.toContain('online');
  });

  it('adds, reads, updates and removes a roster item, pushing each change', async () => {
    const alice = await account('alice');
    const carol = jidOf(await account('carol'));
    const client = await login(alice, 'desk');
    const initial = await client.xmpp.iqCaller.get(xml('query', { xmlns: NS_ROSTER }));
    expect(initial?.getChildren('item')).toEqual([]);

    // Add, with a name and a group (RFC 6121 §2.3).
    await client.xmpp.iqCaller.set(xml('query', { xmlns: NS_ROSTER }, xml('item', { jid: carol, name: 'Carol' }, xml('group', {}, 'Friends'))));
    const added = await client.expect(is.rosterPush(carol), 5000, 'the push of the new item');
    expect([undefined, client.bareJid]).toContain(added.attrs.from);
    const addedItem = added.getChild('query', NS_ROSTER)?.getChild('item');
    expect(addedItem?.attrs).toMatchObject({ jid: carol, name: 'Carol', subscription: 'none' });
    expect(addedItem?.attrs.ask).toBeUndefined();
    expect(addedItem?.getChildren('group').map((group) => group.getText())).toEqual(['Friends']);

    let items = rosterItems(await client.iq('get', xml('query', { xmlns: NS_ROSTER })));
    expect([...items.keys()]).toEqual([carol]);
    expect(items.get(carol)?.attrs.name).toBe('Carol');
    expect(items.get(carol)?.getChildText('group')).toBe('Friends');

    // Update: a new name and two other groups replace the old ones.
    const update = await client.iq(
      'set',
      xml('query', { xmlns: NS_ROSTER }, xml('item', { jid: carol, name: 'Carol C.' }, xml('group', {}, 'Work'), xml('group', {}, 'Book club'))),
    );
    expect(update.attrs.type).toBe('result');
    const updated = await client.expect(is.rosterPush(carol, (item) => item.attrs.name === 'Carol C.'), 5000, 'the push of the update');
    const updatedGroups = updated.getChild('query', NS_ROSTER)?.getChild('item')?.getChildren('group').map((group) => group.getText());
    expect(updatedGroups?.sort()).toEqual(['Book club', 'Work']);
    items = rosterItems(await client.iq('get', xml('query', { xmlns: NS_ROSTER })));
    expect(items.get(carol)?.attrs.name).toBe('Carol C.');
    expect(items.get(carol)?.getChildren('group').map((group) => group.getText()).sort()).toEqual(['Book club', 'Work']);

    // Remove.
    const removal = await client.iq('set', xml('query', { xmlns: NS_ROSTER }, xml('item', { jid: carol, subscription: 'remove' })));
    expect(removal.attrs.type).toBe('result');
    await client.expect(is.rosterPush(carol, (item) => item.attrs.subscription === 'remove'), 5000, 'the push of the removal');
    items = rosterItems(await client.iq('get', xml('query', { xmlns: NS_ROSTER })));
    expect(items.size).toBe(0);
    // Removing it again is item-not-found (RFC 6121 §2.5.3).
    expect(errorCondition(await client.iq('set', xml('query', { xmlns: NS_ROSTER }, xml('item', { jid: carol, subscription: 'remove' }))))).toBe('item-not-found');
  });

  it('completes a subscription handshake both ways, ending in both on both rosters', async () => {
    const alice = await online(await account('alice'), 'home');
    const bob = await online(await account('bob'), 'work');

    // Alice asks: her roster shows the pending request (ask='subscribe').
    await alice.send(xml('presence', { to: bob.bareJid, type: 'subscribe' }));
    await alice.expect(is.rosterPush(bob.bareJid, (item) => item.attrs.subscription === 'none' && item.attrs.ask === 'subscribe'), 5000, 'ask=subscribe');
    const request = await bob.expect(is.presence(alice.bareJid, 'subscribe'), 5000, 'the request');
    expect(request.attrs.to).toBe(bob.bareJid);

    // Bob approves: from on his side, to on hers, and she gets his presence.
    await bob.send(xml('presence', { to: alice.bareJid, type: 'subscribed' }));
    await bob.expect(is.rosterPush(alice.bareJid, (item) => item.attrs.subscription === 'from'), 5000, 'subscription=from');
    await alice.expect(is.rosterPush(bob.bareJid, (item) => item.attrs.subscription === 'to' && item.attrs.ask === undefined), 5000, 'subscription=to');
    await alice.expect(is.presence(bob.bareJid, 'subscribed'), 5000, 'the approval');
    await alice.expect(is.presence(bob.jid), 5000, "bob's presence");

    // And the other way round.
    await bob.send(xml('presence', { to: alice.bareJid, type: 'subscribe' }));
    await alice.expect(is.presence(bob.bareJid, 'subscribe'), 5000, "bob's request");
    await alice.send(xml('presence', { to: bob.bareJid, type: 'subscribed' }));
    await alice.expect(is.rosterPush(bob.bareJid, (item) => item.attrs.subscription === 'both'), 5000, 'subscription=both at alice');
    await bob.expect(is.rosterPush(alice.bareJid, (item) => item.attrs.subscription === 'both' && item.attrs.ask === undefined), 5000, 'subscription=both at bob');
    await bob.expect(is.presence(alice.bareJid, 'subscribed'), 5000, "alice's approval");
    await bob.expect(is.presence(alice.jid), 5000, "alice's presence");

    const aliceRoster = rosterItems(await alice.iq('get', xml('query', { xmlns: NS_ROSTER })));
    const bobRoster = rosterItems(await bob.iq('get', xml('query', { xmlns: NS_ROSTER })));
    expect(aliceRoster.get(bob.bareJid)?.attrs).toMatchObject({ subscription: 'both' });
    expect(aliceRoster.get(bob.bareJid)?.attrs.ask).toBeUndefined();
    expect(bobRoster.get(alice.bareJid)?.attrs).toMatchObject({ subscription: 'both' });
    expect(bobRoster.get(alice.bareJid)?.attrs.ask).toBeUndefined();
  });

  it('shows a mutually subscribed contact coming online and going offline', async () => {
    const aliceName = await account('alice');
    const first = await online(aliceName, 'home');
    const bob = await online(await account('bob'), 'work');
    await subscribe(first, bob);
    await subscribe(bob, first);
    await first.stop();
    await bob.expect(is.presence(first.jid, 'unavailable'), 5000, 'unavailable after the first login ends');

    // Alice comes back: bob sees her available presence (with her status), she sees his (probe answer).
    const alice = await login(aliceName, 'phone');
    await alice.send(xml('presence', {}, xml('show', {}, 'away'), xml('status', {}, 'On the train')));
    const available = await bob.expect(is.presence(alice.jid), 5000, "alice's available presence");
    expect(available.getChildText('show')).toBe('away');
    expect(available.getChildText('status')).toBe('On the train');
    await alice.expect(is.presence(bob.jid), 5000, "bob's presence in answer to her probe");

    // Alice stops: the library closes the stream and bob is told she is unavailable.
    await alice.stop();
    expect(alice.status).toBe('offline');
    const gone = await bob.expect(is.presence(alice.jid, 'unavailable'), 5000, "alice's unavailable presence");
    // RFC 6121 §4.5.2 / §4.2.3 examples: broadcast presence is addressed to the contact's bare JID.
    expect([bob.bareJid, bob.jid]).toContain(gone.attrs.to);
  });

  it('delivers a chat with the sender full JID and the body intact, unicode and XML specials included', async () => {
    const alice = await online(await account('alice'), 'home');
    const bob = await online(await account('bob'), 'work');
    const body = `Grüße, 世界! 🐦🪶 <b>bold</b> & "quotes" 'apostrophes' ]]> &amp; \u00a0tail`;

    await alice.send(xml('message', { to: bob.bareJid, type: 'chat', id: 'chat-1' }, xml('body', {}, body), xml('thread', {}, 'thread-1')));
    const message = await bob.expect(is.message(alice.jid), 5000, "alice's chat");
    expect(message.attrs).toMatchObject({ from: alice.jid, to: bob.bareJid, type: 'chat', id: 'chat-1' });
    expect(message.getChildText('body')).toBe(body);
    expect(message.getChildText('thread')).toBe('thread-1');

    // And back, to her full JID.
    await bob.message(alice.jid, 'réponse ✓');
    const reply = await alice.expect(is.message(bob.jid), 5000, "bob's reply");
    expect(reply.getChildText('body')).toBe('réponse ✓');
    expect(reply.attrs.to).toBe(alice.jid);
  });

  it("delivers a bare-JID chat to the highest-priority resource only, and to all resources that share it", async () => {
    const aliceName = await account('alice');
    const bobName = await account('bob');
    const phone = await online(aliceName, 'phone');
    const laptop = await online(aliceName, 'laptop');
    const desk = await online(bobName, 'desk', 5);
    const mobile = await online(bobName, 'mobile', 1);

    await phone.message(jidOf(bobName), 'to the best resource');
    const received = await desk.expect(is.chat(phone.jid, 'to the best resource'), 5000, 'the chat at priority 5');
    expect(received.attrs.to).toBe(jidOf(bobName));
    await settle(phone, desk, mobile, laptop);
    expect(mobile.take(is.message())).toEqual([]);
    expect(desk.take(is.message())).toEqual([]);
    expect(laptop.take(is.message())).toEqual([]);

    // Mobile raises its priority to 5: both resources now share the top priority.
    await mobile.available(5);
    // The reflected copy comes after the server recorded the new priority.
    await mobile.expect((element) => is.presence(mobile.jid)(element) && element.getChildText('priority') === '5', 5000, 'its new presence reflected');
    await laptop.message(jidOf(bobName), 'to both');
    await desk.expect(is.chat(laptop.jid, 'to both'), 5000, 'the chat at desk');
    await mobile.expect(is.chat(laptop.jid, 'to both'), 5000, 'the chat at mobile');
    await settle(laptop, desk, mobile, phone);
    expect(desk.take(is.message())).toEqual([]);
    expect(mobile.take(is.message())).toEqual([]);
    expect(phone.take(is.message())).toEqual([]);
  });

  it('delivers a message to a full JID to exactly that resource, whatever its priority', async () => {
    const alice = await online(await account('alice'), 'home');
    const bobName = await account('bob');
    const desk = await online(bobName, 'desk', 10);
    const mobile = await online(bobName, 'mobile', 1);

    await alice.message(mobile.jid, 'just the mobile');
    const message = await mobile.expect(is.chat(alice.jid, 'just the mobile'), 5000, 'the chat at mobile');
    expect(message.attrs.to).toBe(mobile.jid);
    await settle(alice, desk, mobile);
    expect(desk.take(is.message())).toEqual([]);
    expect(mobile.take(is.message())).toEqual([]);

    await alice.message(desk.jid, 'just the desk', 'normal');
    await desk.expect(is.chat(alice.jid, 'just the desk'), 5000, 'the message at desk');
    await settle(alice, desk, mobile);
    expect(mobile.take(is.message())).toEqual([]);
  });

  it('stores a chat for an offline contact and delivers it, with a delay, at its next available presence', async () => {
    const alice = await online(await account('alice'), 'home');
    const bobName = await account('bob');
    const before = Date.now();

    await alice.message(jidOf(bobName), 'while you were out');
    await alice.send(xml('message', { to: jidOf(bobName), id: 'normal-1' }, xml('body', {}, 'a normal one <too>')));
    await alice.barrier();
    expect(alice.take(is.message())).toEqual([]); // no error came back: stored, not bounced

    const bob = await login(bobName, 'work');
    await bob.barrier();
    expect(bob.take(is.message())).toEqual([]); // not before available presence
    await bob.available();
    const first = await bob.expect(is.chat(alice.jid, 'while you were out'), 5000, 'the stored chat');
    const second = await bob.expect(is.chat(alice.jid, 'a normal one <too>'), 5000, 'the stored normal message');
    expect(first.attrs.type).toBe('chat');
    expect(second.attrs.id).toBe('normal-1');
    for (const message of [first, second]) {
      const delay = message.getChild('delay', NS_DELAY);
      expect(delay?.attrs.from).toBe(server.config.domain);
      const stamp = Date.parse(String(delay?.attrs.stamp));
      expect(stamp).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
      expect(stamp).toBeLessThanOrEqual(Date.now());
    }
    // Delivered once: a second resource coming online later gets nothing.
    const again = await online(bobName, 'other');
    await again.barrier();
    expect(again.take(is.message())).toEqual([]);
  });

  it('answers a ping to the server and to another account, and service-unavailable to an unknown namespace', async () => {
    const alice = await online(await account('alice'), 'home');
    const bob = jidOf(await account('bob'));

    const serverPing = await alice.iq('get', xml('ping', { xmlns: NS_PING }), server.config.domain);
    expect(serverPing.attrs).toMatchObject({ type: 'result', from: server.config.domain, to: alice.jid });
    const accountPing = await alice.iq('get', xml('ping', { xmlns: NS_PING }), bob);
    expect(accountPing.attrs).toMatchObject({ type: 'result', from: bob, to: alice.jid });
    // The library's own iq caller resolves on the result too.
    await expect(alice.xmpp.iqCaller.request(xml('iq', { type: 'get', to: server.config.domain }, xml('ping', { xmlns: NS_PING })))).resolves.toMatchObject({
      attrs: { type: 'result' },
    });

    for (const to of [server.config.domain, bob]) {
      const unknown = await alice.iq('get', xml('query', { xmlns: 'urn:example:nothing-here' }), to);
      expect(unknown.attrs.type).toBe('error');
      expect(errorCondition(unknown)).toBe('service-unavailable');
    }
    await expect(
      alice.xmpp.iqCaller.request(xml('iq', { type: 'set', to: server.config.domain }, xml('query', { xmlns: 'urn:example:nothing-here' }))),
    ).rejects.toMatchObject({ name: 'StanzaError', condition: 'service-unavailable' });
  });

  it('ends the older session with a conflict stream error when the same resource logs in again', async () => {
    const aliceName = await account('alice');
    const first = await online(aliceName, 'same');
    const second = await login(aliceName, 'same');

    const error = await first.nextError();
    expect(error).toMatchObject({ name: 'StreamError', condition: 'conflict' });
    await first.disconnected();
    expect(first.statuses).toContain('disconnect');
    expect(first.status).not.toBe('online');

    // The newer session holds the resource and works.
    expect(second.jid).toBe(first.jid);
    expect(second.status).toBe('online');
    expect((await second.barrier()).attrs.type).toBe('result');
    const bob = await online(await account('bob'), 'desk');
    await bob.message(second.jid, 'still there?');
    await second.expect(is.chat(bob.jid, 'still there?'), 5000, 'the chat at the new session');
  });

  it('does not give bare-JID chats to a negative-priority resource while a priority-0 one takes them', async () => {
    const alice = await online(await account('alice'), 'home');
    const bobName = await account('bob');
    const hidden = await online(bobName, 'hidden', -1);
    const zero = await online(bobName, 'zero', 0);

    await alice.message(jidOf(bobName), 'for priority 0');
    await zero.expect(is.chat(alice.jid, 'for priority 0'), 5000, 'the chat at priority 0');
    await settle(alice, hidden, zero);
    expect(hidden.take(is.message())).toEqual([]);

    // A negative priority only keeps bare-JID messages away: its full JID still reaches it.
    await alice.message(hidden.jid, 'direct');
    await hidden.expect(is.chat(alice.jid, 'direct'), 5000, 'the chat to the full JID');
  });

  it('stores bare-JID chats offline when the only resource online has a negative priority', async () => {
    const alice = await online(await account('alice'), 'home');
    const bobName = await account('bob');
    const hidden = await online(bobName, 'hidden', -5);

    await alice.message(jidOf(bobName), 'keep this for later');
    await settle(alice, hidden);
    expect(hidden.take(is.message())).toEqual([]);
    expect(alice.take(is.message())).toEqual([]); // not bounced

    const visible = await login(bobName, 'visible');
    await visible.available(0);
    const stored = await visible.expect(is.chat(alice.jid, 'keep this for later'), 5000, 'the stored chat');
    expect(stored.getChild('delay', NS_DELAY)).toBeDefined();
  });

  it('answers a chat to an account that does not exist with service-unavailable', async () => {
    const alice = await online(await account('alice'), 'home');
    const ghost = jidOf(`ghost${++accounts}`);

    await alice.message(ghost, 'anyone?');
    const bounce: Element = await alice.expect((element) => element.name === 'message' && element.attrs.type === 'error', 5000, 'the bounce');
    expect(bounce.attrs.from).toBe(ghost);
    expect(errorCondition(bounce)).toBe('service-unavailable');
    expect(bounce.getChildText('body')).toBe('anyone?');
  });
});
