// XEP-0077 In-Band Registration: account creation before authentication, password change and
// account removal after it, and the server without registration, over real sockets.
import type { Element } from 'ltx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { befriend, type RawClient, xml } from '../support/client.js';
import { condition } from '../support/fixture.js';
import { BACKENDS, PASSWORD, startTestServer, type TestServer } from '../support/server.js';

const NS_REGISTER = 'jabber:iq:register';
const NS_FEATURE = 'http://jabber.org/features/iq-register';
const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';
const NS_STREAMS = 'urn:ietf:params:xml:ns:xmpp-streams';

/** The defined condition of a <stream:error/>. */
const streamCondition = (error: Element): string | undefined =>
  error.children.find((child): child is Element => typeof child !== 'string' && child.attrs.xmlns === NS_STREAMS && child.name !== 'text')?.name;
const query = (username?: string, password?: string): string =>
  `<query xmlns='${NS_REGISTER}'>${username === undefined ? '' : `<username>${username}</username>`}${password === undefined ? '' : `<password>${password}</password>`}</query>`;

/** A stream after STARTTLS, not authenticated; returns the features offered there. */
async function secureStream(server: TestServer): Promise<{ client: RawClient; features: Element }> {
  const client = await server.connect();
  await client.openStream();
  await client.startTls();
  return { client, features: await client.openStream() };
}

/** Authenticated and restarted, no resource bound: the post-authentication features. */
async function authenticated(server: TestServer, local: string, password = PASSWORD): Promise<Element> {
  const { client } = await secureStream(server);
  const outcome = await client.authPlain(local, password);
  if (outcome.name !== 'success') throw new Error(`authentication failed: ${outcome.toString()}`);
  return client.openStream();
}

/** The SASL outcome of a PLAIN attempt on a fresh secure stream. */
async function tryLogin(server: TestServer, local: string, password: string): Promise<string> {
  const { client } = await secureStream(server);
  return (await client.authPlain(local, password)).name;
}

/**
 * Resolves once `store[method](user)` has been called and has finished: a way to wait for work
 * the server does after the last thing a client can see. The store's own method is put back.
 */
function completion<S extends object>(store: S, method: keyof S & string, user: string): Promise<void> {
  const target = store as Record<string, unknown>;
  const original = target[method] as (user: string, ...rest: unknown[]) => Promise<unknown>;
  return new Promise((resolve) => {
    target[method] = async (who: string, ...rest: unknown[]): Promise<unknown> => {
      try {
        return await original.call(store, who, ...rest);
      } finally {
        if (who === user) {
          target[method] = original;
          resolve();
        }
      }
    };
  });
}

describe.each(BACKENDS)('XEP-0077 in-band registration (%s backend)', (backend) => {
  let server: TestServer;
  let n = 0;
  const fresh = (prefix: string): string => `${prefix}${++n}`;
  const user = async (prefix: string): Promise<string> => {
    const local = fresh(prefix);
    await server.createUser(local);
    return local;
  };

  beforeAll(async () => {
    server = await startTestServer({ backend, config: { allowRegistration: true } });
  });
  afterAll(() => server.stop());

  describe('before authentication', () => {
    it('offers the register feature over TLS, not before TLS and not after authentication', async () => {
      const client = await server.connect();
      const plain = await client.openStream();
      expect(plain.getChild('register', NS_FEATURE)).toBeUndefined();
      await client.startTls();
      const secure = await client.openStream();
      expect(xml`<stream:features><register xmlns='${NS_FEATURE}'/></stream:features>`(secure)).toBe(true);
      const after = await authenticated(server, await user('alice'));
      expect(after.getChild('register', NS_FEATURE)).toBeUndefined();
    });

    it('returns the form: instructions, username and password', async () => {
      const { client } = await secureStream(server);
      const reply = await client.iq('get', `<query xmlns='${NS_REGISTER}'/>`);
      expect(xml`<iq type='result'><query xmlns='${NS_REGISTER}'><instructions/><username/><password/></query></iq>`(reply)).toBe(true);
      expect(reply.getChild('query')?.getChildText('instructions')).not.toBe('');
    });

    it('creates an account under the prepared username, which can then log in on the same stream and elsewhere', async () => {
      const local = fresh('carol');
      const { client } = await secureStream(server);
      const reply = await client.iq('set', query(local.toUpperCase(), 'new-password'));
      expect(reply.attrs.type).toBe('result');
      expect(reply.children).toEqual([]);
      expect(await server.server.host.state.accounts.exists(`${local}@localhost`)).toBe(true);
      expect((await client.authPlain(local, 'new-password')).name).toBe('success');
      const other = await server.login(local, 'desk', 'new-password');
      expect(other.jid).toBe(`${local}@localhost/desk`);
    });

    it('refuses a username that is taken with conflict', async () => {
      const taken = await user('dave');
      const { client } = await secureStream(server);
      const reply = await client.iq('set', query(taken, 'whatever'));
      expect(reply.attrs.type).toBe('error');
      expect(condition(reply)).toBe('conflict');
      expect(await tryLogin(server, taken, PASSWORD)).toBe('success');
    });

    it('refuses a missing or empty username or password with not-acceptable', async () => {
      const { client } = await secureStream(server);
      for (const payload of [query(fresh('erin')), query(undefined, 'pw'), query(fresh('erin'), ''), query('', 'pw')]) {
        const reply = await client.iq('set', payload);
        expect(condition(reply)).toBe('not-acceptable');
      }
    });

    it('refuses a username that is not a valid localpart with not-acceptable', async () => {
      const { client } = await secureStream(server);
      const reply = await client.iq('set', query('bad@name', 'pw'));
      expect(reply.attrs.type).toBe('error');
      expect(condition(reply)).toBe('not-acceptable');
      expect(reply.getChild('error')?.getChildText('text', NS_STANZAS)).toBe('The requested username is invalid');
    });

    it('refuses registration over an unencrypted stream with policy-violation', async () => {
      const client = await server.connect();
      await client.openStream();
      const local = fresh('frank');
      const reply = await client.iq('set', query(local, 'pw'));
      expect(condition(reply)).toBe('policy-violation');
      expect(await server.server.host.state.accounts.exists(`${local}@localhost`)).toBe(false);
    });

    it('refuses <remove/> before authentication with not-authorized', async () => {
      const { client } = await secureStream(server);
      const reply = await client.iq('set', `<query xmlns='${NS_REGISTER}'><remove/></query>`);
      expect(condition(reply)).toBe('not-authorized');
    });

    it('still closes the stream with not-authorized for any other stanza', async () => {
      const { client } = await secureStream(server);
      client.send("<message to='someone@localhost'><body>hi</body></message>");
      expect(streamCondition(await client.expect('stream:error'))).toBe('not-authorized');
      await client.closed();
    });

    it('allows five registrations per address and hour, then answers policy-violation', async () => {
      const limited = await startTestServer({ backend, config: { allowRegistration: true } });
      try {
        const { client } = await secureStream(limited);
        for (let i = 0; i < 5; i++) {
          expect((await client.iq('set', query(fresh('grace'), 'pw'))).attrs.type).toBe('result');
        }
        const local = fresh('grace');
        const refused = await client.iq('set', query(local, 'pw'));
        expect(condition(refused)).toBe('policy-violation');
        expect(refused.getChild('error')?.attrs.type).toBe('wait');
        expect(await limited.server.host.state.accounts.exists(`${local}@localhost`)).toBe(false);
      } finally {
        await limited.stop();
      }
    });
  });

  describe('after authentication', () => {
    it('advertises jabber:iq:register in the server disco#info', async () => {
      const alice = await server.login(await user('alice'), 'desk');
      const info = await alice.iq('get', "<query xmlns='http://jabber.org/protocol/disco#info'/>", 'localhost');
      expect(info.getChild('query')?.getChildren('feature').map((feature) => feature.attrs.var)).toContain(NS_REGISTER);
    });

    it('describes the account as registered, with its username', async () => {
      const local = await user('alice');
      const alice = await server.login(local, 'desk');
      const reply = await alice.iq('get', `<query xmlns='${NS_REGISTER}'/>`);
      expect(xml`<iq type='result'><query xmlns='${NS_REGISTER}'><registered/><username>${local}</username></query></iq>`(reply)).toBe(true);
    });

    it('changes the password and closes the other sessions with reset', async () => {
      const local = await user('alice');
      const desk = await server.login(local, 'desk');
      const phone = await server.login(local, 'phone');
      const reply = await desk.iq('set', query(local, 'changed-password'));
      expect(reply.attrs.type).toBe('result');
      expect(streamCondition(await phone.expect('stream:error'))).toBe('reset');
      await phone.closed();
      await desk.barrier();
      expect(desk.socketClosed).toBe(false);
      expect(await tryLogin(server, local, 'changed-password')).toBe('success');
      expect(await tryLogin(server, local, PASSWORD)).toBe('failure');
    });

    it('refuses a password change for another username or without a password with bad-request', async () => {
      const local = await user('alice');
      const other = await user('bob');
      const alice = await server.login(local, 'desk');
      expect(condition(await alice.iq('set', query(other, 'stolen')))).toBe('bad-request');
      expect(condition(await alice.iq('set', query(local)))).toBe('bad-request');
      expect(await tryLogin(server, other, PASSWORD)).toBe('success');
      expect(await tryLogin(server, local, PASSWORD)).toBe('success');
    });

    it('removes the account: result, then every session closed with not-authorized, contacts told, data deleted', async () => {
      const local = await user('alice');
      const bare = `${local}@localhost`;
      const bob = await user('bob');
      const desk = await server.login(local, 'desk');
      const phone = await server.login(local, 'phone');
      const bobby = await server.login(bob, 'home');
      await befriend(phone, bobby);
      await bobby.iq('get', "<query xmlns='jabber:iq:roster'/>");
      bobby.send('<presence/>');
      phone.send('<presence/>');
      await bobby.expect(xml`<presence from='${bare}/phone'/>`);
      await desk.iq('set', "<block xmlns='urn:xmpp:blocking'><item jid='spam.example'/></block>");
      // The node that handles the removal (desk's) does the deleting.
      const { host } = server.nodeOf(desk);
      const { state } = host;
      await state.offline.store(bare, { xml: "<message to='x'/>", stamp: Date.now() }, 100);
      const deleted: string[] = [];
      const unhook = host.hooks.on('user-deleted', ({ user }) => {
        deleted.push(user);
      });
      // The deletion ends after the sessions are closed; these resolve when each store is done.
      const wiped = Promise.all([
        completion(state.accounts, 'delete', bare),
        completion(state.rosters, 'deleteAll', bare),
        completion(state.offline, 'deleteAll', bare),
        completion(state.blocklists, 'deleteAll', bare),
      ]);
      try {
        desk.send(`<iq type='set' id='rm1'><query xmlns='${NS_REGISTER}'><remove/></query></iq>`);
        await desk.expect(xml`<iq type='result' id='rm1'/>`);
        const error = await desk.expect('stream:error');
        expect(xml`<stream:error><not-authorized xmlns='${NS_STREAMS}'/><text xmlns='${NS_STREAMS}'>Account deleted</text></stream:error>`(error)).toBe(true);
        expect(desk.log.findIndex(xml`<iq id='rm1'/>`)).toBeLessThan(desk.log.findIndex((element) => element.name === 'stream:error'));
        await desk.closed();
        expect(streamCondition(await phone.expect('stream:error'))).toBe('not-authorized');
        await phone.closed();
        await bobby.expect(xml`<presence type='unavailable' from='${bare}/phone'/>`);
        await bobby.expect(xml`<presence type='unsubscribe' from='${bare}'/>`);
        await wiped;
        expect(deleted).toEqual([bare]);
        expect(await state.accounts.exists(bare)).toBe(false);
        expect((await state.rosters.load(bare)).items.size).toBe(0);
        expect(await state.offline.count(bare)).toBe(0);
        expect(await state.blocklists.get(bare)).toEqual([]);
        expect(await tryLogin(server, local, PASSWORD)).toBe('failure');
      } finally {
        unhook();
      }
    });
  });
});

describe.each(BACKENDS)('a server without in-band registration (%s backend)', (backend) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ backend });
    await server.createUser('alice');
  });
  afterAll(() => server.stop());

  it('offers no register feature and closes the stream on a registration attempt with not-authorized', async () => {
    const { client, features } = await secureStream(server);
    expect(features.getChild('register', NS_FEATURE)).toBeUndefined();
    client.send(`<iq type='get' id='reg1'><query xmlns='${NS_REGISTER}'/></iq>`);
    expect(streamCondition(await client.expect('stream:error'))).toBe('not-authorized');
    await client.closed();
    expect(client.inbox.filter((element) => element.name === 'iq')).toEqual([]);
  });

  it('does not advertise or answer jabber:iq:register after authentication', async () => {
    const alice = await server.login('alice', 'desk');
    const info = await alice.iq('get', "<query xmlns='http://jabber.org/protocol/disco#info'/>", 'localhost');
    expect(info.getChild('query')?.getChildren('feature').map((feature) => feature.attrs.var)).not.toContain(NS_REGISTER);
    const reply = await alice.iq('set', `<query xmlns='${NS_REGISTER}'><remove/></query>`);
    expect(condition(reply)).toBe('service-unavailable');
    expect(await server.server.host.state.accounts.exists('alice@localhost')).toBe(true);
  });
});

describe.each(BACKENDS)('in-band registration with plaintext authentication allowed (%s backend)', (backend) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ backend, config: { allowRegistration: true, allowPlaintextAuth: true } });
  });
  afterAll(() => server.stop());

  it('offers the register feature and registers without TLS', async () => {
    const client = await server.connect();
    const features = await client.openStream();
    expect(features.getChild('register', NS_FEATURE)).toBeDefined();
    const reply = await client.iq('set', query('plainuser', 'pw'));
    expect(reply.attrs.type).toBe('result');
    expect(await server.server.host.state.accounts.exists('plainuser@localhost')).toBe(true);
  });
});
