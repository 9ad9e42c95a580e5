// RFC 6120 §6 (SASL) and §7 (resource binding), over real sockets.
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import type { Element } from 'ltx';
import { describe, expect, it } from 'vitest';
import { befriend, type ConnectOptions, type RawClient, xml } from '../support/client.js';
import { DEFAULT_LIMITS } from '../../src/config.js';
import { AuthThrottle } from '../../src/c2s/auth-throttle.js';
import { SCRAM_ITERATIONS } from '../../src/core/accounts.js';
import { deriveScramKeys, type ScramKeys } from '../../src/sasl/credentials.js';
import { keysUnknownText } from '../../src/sasl/index.js';
import { storedCredentials } from '../../src/xep0227/account.js';
import { useTestServer } from '../support/fixture.js';
import { BACKENDS, PASSWORD, type TestServer } from '../support/server.js';

const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';
const NS_BIND = 'urn:ietf:params:xml:ns:xmpp-bind';
const NS_SESSION = 'urn:ietf:params:xml:ns:xmpp-session';
const NS_STREAMS = 'urn:ietf:params:xml:ns:xmpp-streams';
const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';

const base64 = (text: string): string => Buffer.from(text).toString('base64');

/** A stream ready for SASL: header, STARTTLS, header again. */
async function readyForSasl(server: TestServer, options: Partial<ConnectOptions> = {}): Promise<RawClient> {
  const client = await server.connect(options);
  await client.openStream();
  await client.startTls();
  await client.openStream();
  return client;
}

/** Authenticated and restarted, but no resource bound yet. Returns the features after the restart. */
async function authenticated(server: TestServer, user: string): Promise<{ client: RawClient; features: Element }> {
  const client = await readyForSasl(server);
  const outcome = await client.authPlain(user, PASSWORD);
  if (outcome.name !== 'success') throw new Error(`authentication failed: ${outcome.toString()}`);
  const features = await client.openStream();
  return { client, features };
}

/** Sends one PLAIN attempt with a wrong password; resolves with the reply. */
async function wrongPassword(client: RawClient, user: string): Promise<Element> {
  return client.authPlain(user, 'not-the-password');
}

/**
 * The client side of SCRAM (RFC 5802) over the stream. Resolves with the final <success/> or
 * <failure/>, and whether the server proved that it knows the password too.
 */
async function scram(client: RawClient, hash: 'sha256' | 'sha1', user: string, password: string): Promise<{ outcome: Element; serverVerified: boolean }> {
  const mechanism = hash === 'sha256' ? 'SCRAM-SHA-256' : 'SCRAM-SHA-1';
  const hmac = (key: Buffer, text: string): Buffer => createHmac(hash, key).update(text).digest();
  const clientFirstBare = `n=${user},r=${randomBytes(18).toString('base64')}`;
  client.send(`<auth xmlns='${NS_SASL}' mechanism='${mechanism}'>${base64(`n,,${clientFirstBare}`)}</auth>`);
  const challenge = await client.expect((element) => element.name === 'challenge' || element.name === 'failure');
  if (challenge.name === 'failure') return { outcome: challenge, serverVerified: false };
  const serverFirst = Buffer.from(challenge.getText(), 'base64').toString();
  const fields = new Map(serverFirst.split(',').map((field) => [field.slice(0, 1), field.slice(2)]));
  const salted = pbkdf2Sync(password, Buffer.from(String(fields.get('s')), 'base64'), Number(fields.get('i')), hash === 'sha256' ? 32 : 20, hash);
  const clientKey = hmac(salted, 'Client Key');
  const withoutProof = `c=${base64('n,,')},r=${fields.get('r')}`;
  const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
  const signature = hmac(createHash(hash).update(clientKey).digest(), authMessage);
  const proof = Buffer.from(clientKey.map((byte, i) => byte ^ (signature[i] ?? 0)));
  client.send(`<response xmlns='${NS_SASL}'>${base64(`${withoutProof},p=${proof.toString('base64')}`)}</response>`);
  const outcome = await client.expect((element) => element.name === 'success' || element.name === 'failure');
  if (outcome.name === 'success') client.restartParser();
  const serverSignature = hmac(hmac(salted, 'Server Key'), authMessage).toString('base64');
  const serverFinal = Buffer.from(outcome.getText(), 'base64').toString();
  return { outcome, serverVerified: serverFinal === `v=${serverSignature}` };
}

describe.each(BACKENDS)('SASL and resource binding (%s backend)', (backend) => {
  // Three free failures per address or account, then each reply waits longer.
  const fixture = useTestServer({ backend, config: { limits: { ...DEFAULT_LIMITS, authFailuresBeforeDelay: 3 } } });
  /** A fresh account per test, so tests never share rosters or sessions. */
  const user = fixture.user;


  describe('authentication', () => {
    it('answers a wrong password with not-authorized, and lets the client try again', async () => {
      const alice = await user('alice');
      const client = await readyForSasl(fixture.server);
      const failure = await wrongPassword(client, alice);
      expect(xml`<failure xmlns='${NS_SASL}'><not-authorized/></failure>`(failure)).toBe(true);
      const success = await client.authPlain(alice, PASSWORD);
      expect(xml`<success xmlns='${NS_SASL}'/>`(success)).toBe(true);
    });

    it.each(['sha256', 'sha1'] as const)('authenticates with SCRAM (%s), and the server proves it knows the password', async (hash) => {
      const alice = await user('alice');
      const client = await readyForSasl(fixture.server);
      const { outcome, serverVerified } = await scram(client, hash, alice, PASSWORD);
      expect(xml`<success xmlns='${NS_SASL}'/>`(outcome)).toBe(true);
      expect(serverVerified).toBe(true);
      await client.openStream();
      await expect(client.bind('scram')).resolves.toSatisfy(xml`<iq type='result'><bind xmlns='${NS_BIND}'><jid>${alice}@localhost/scram</jid></bind></iq>`);
    });

    it('answers a wrong SCRAM proof with not-authorized', async () => {
      const alice = await user('alice');
      const client = await readyForSasl(fixture.server);
      const { outcome } = await scram(client, 'sha256', alice, 'not-the-password');
      expect(xml`<failure xmlns='${NS_SASL}'><not-authorized/></failure>`(outcome)).toBe(true);
    });

    it('answers an unknown account like a wrong password', async () => {
      const client = await readyForSasl(fixture.server);
      const failure = await client.authPlain('nobody', PASSWORD);
      expect(xml`<failure xmlns='${NS_SASL}'><not-authorized/></failure>`(failure)).toBe(true);
    });

    it('answers an unknown mechanism with invalid-mechanism', async () => {
      const client = await readyForSasl(fixture.server);
      client.send(`<auth xmlns='${NS_SASL}' mechanism='X-UNHEARD-OF'>${base64('hello')}</auth>`);
      await client.expect(xml`<failure xmlns='${NS_SASL}'><invalid-mechanism/></failure>`);
    });

    it('answers data that is not base64 with incorrect-encoding', async () => {
      const alice = await user('alice');
      const client = await readyForSasl(fixture.server);
      client.send(`<auth xmlns='${NS_SASL}' mechanism='PLAIN'>%%%${alice}%%%</auth>`);
      await client.expect(xml`<failure xmlns='${NS_SASL}'><incorrect-encoding/></failure>`);
    });

    it('answers an abort in the middle of SCRAM with aborted', async () => {
      const alice = await user('alice');
      const client = await readyForSasl(fixture.server);
      client.send(`<auth xmlns='${NS_SASL}' mechanism='SCRAM-SHA-1'>${base64(`n,,n=${alice},r=fyko+d2lbbFgONRv9qkxdawL`)}</auth>`);
      await client.expect(xml`<challenge xmlns='${NS_SASL}'/>`);
      client.send(`<abort xmlns='${NS_SASL}'/>`);
      await client.expect(xml`<failure xmlns='${NS_SASL}'><aborted/></failure>`);
    });

    it('closes the stream with policy-violation at the fifth failure on one connection', async () => {
      const alice = await user('alice');
      const client = await readyForSasl(fixture.server, { localAddress: '127.0.0.3' });
      for (let attempt = 1; attempt <= 4; attempt++) {
        const failure = await wrongPassword(client, alice);
        expect(xml`<failure xmlns='${NS_SASL}'><not-authorized/></failure>`(failure)).toBe(true);
      }
      const fifth = await wrongPassword(client, alice);
      expect(xml`<failure xmlns='${NS_SASL}'><not-authorized/></failure>`(fifth)).toBe(true);
      await client.expect(xml`<stream:error><policy-violation xmlns='${NS_STREAMS}'/></stream:error>`);
      await client.closed();
      expect(client.streamClosed).toBe(true);
    });

    it('answers an address with many failures after a fresh address', async () => {
      // Both attempts are sent together; only the throttle can put the later one first.
      const [alice, bob] = [await user('alice'), await user('bob')];
      const first = await readyForSasl(fixture.server, { localAddress: '127.0.0.4' });
      for (let attempt = 1; attempt <= 4; attempt++) await wrongPassword(first, alice);
      // Failures are counted for the whole cluster: the later attempts go to another node if there is one.
      const node = fixture.server.nodes.find((candidate) => candidate !== fixture.server.nodeOf(first)) ?? fixture.server.nodeOf(first);
      const port = node.ports().c2s;
      const slow = await readyForSasl(fixture.server, { localAddress: '127.0.0.4', port });
      const fresh = await readyForSasl(fixture.server, { localAddress: '127.0.0.5', port });
      const order: string[] = [];
      const answered = (name: string) => (reply: Element): Element => {
        order.push(name);
        return reply;
      };
      const slowReply = wrongPassword(slow, alice).then(answered('slow'));
      const freshReply = wrongPassword(fresh, bob).then(answered('fresh'));
      const replies = await Promise.all([slowReply, freshReply]);
      expect(replies.map((reply) => reply.name)).toEqual(['failure', 'failure']);
      expect(order).toEqual(['fresh', 'slow']);
    });
  });

  describe('accounts imported with SCRAM-SHA-1 keys only (as ejabberd and Prosody export them)', () => {
    let imported = 0;
    /** Stores an account as `rookery import` does for a <user> with SCRAM-SHA-1 keys alone. */
    async function importedUser(): Promise<{ local: string; jid: string; sha1: ScramKeys }> {
      const local = `migrated${++imported}`;
      const jid = `${local}@${fixture.server.config.domain}`;
      const sha1 = await deriveScramKeys(PASSWORD, 'SHA-1', randomBytes(16), 4096);
      await expect(fixture.server.server.state.accounts.create(jid, await storedCredentials({ scram: { 'SHA-1': sha1 } }, 4096))).resolves.toBe(true);
      return { local, jid, sha1 };
    }

    it('logs in with SCRAM-SHA-1', async () => {
      const { local } = await importedUser();
      const { outcome, serverVerified } = await scram(await readyForSasl(fixture.server), 'sha1', local, PASSWORD);
      expect(xml`<success xmlns='${NS_SASL}'/>`(outcome)).toBe(true);
      expect(serverVerified).toBe(true);
    });

    it('answers SCRAM-SHA-256 with not-authorized and a text naming the mechanisms to use, without counting a failure', async () => {
      const { local } = await importedUser();
      const address = '127.0.0.7';
      const throttle = new AuthThrottle(fixture.server.server.state.attempts, 3);
      const client = await readyForSasl(fixture.server, { localAddress: address });
      // One real failure first, so that the count is known to be read where the server writes it.
      await wrongPassword(client, local);
      await expect(throttle.addressFailures(address)).resolves.toBe(1);
      const { outcome } = await scram(client, 'sha256', local, PASSWORD);
      expect(xml`<failure xmlns='${NS_SASL}'><not-authorized/><text>${keysUnknownText('SHA-256')}</text></failure>`(outcome)).toBe(true);
      expect(outcome.getChildText('text')).toMatch(/log in with SCRAM-SHA-1 or PLAIN/);
      await expect(throttle.addressFailures(address)).resolves.toBe(1);
      // The client falls back to the next mechanism on the same stream.
      const { outcome: fallback } = await scram(client, 'sha1', local, PASSWORD);
      expect(xml`<success xmlns='${NS_SASL}'/>`(fallback)).toBe(true);
    });

    it('logs in with SCRAM-SHA-256 after one PLAIN login over TLS, which also raises the SHA-1 keys to the configured iterations', async () => {
      const { local, jid, sha1 } = await importedUser();
      const plain = await readyForSasl(fixture.server);
      expect(xml`<success xmlns='${NS_SASL}'/>`(await plain.authPlain(local, PASSWORD))).toBe(true);
      const stored = await fixture.server.server.state.accounts.credentials(jid);
      expect(sha1.iterations).toBeLessThan(SCRAM_ITERATIONS);
      expect(stored?.['SHA-1'].iterations).toBe(SCRAM_ITERATIONS);
      expect(stored?.['SHA-256'].iterations).toBe(SCRAM_ITERATIONS);
      for (const hash of ['sha256', 'sha1'] as const) {
        const { outcome, serverVerified } = await scram(await readyForSasl(fixture.server), hash, local, PASSWORD);
        expect(xml`<success xmlns='${NS_SASL}'/>`(outcome)).toBe(true);
        expect(serverVerified).toBe(true);
      }
    });
  });

  describe('resource binding', () => {
    it('offers bind (and no mechanisms) after authentication', async () => {
      const { features } = await authenticated(fixture.server, await user('alice'));
      expect(xml`<stream:features><bind xmlns='${NS_BIND}'/></stream:features>`(features)).toBe(true);
      expect(features.getChild('mechanisms', NS_SASL)).toBeUndefined();
    });

    it('binds the resource the client asks for', async () => {
      const alice = await user('alice');
      const { client } = await authenticated(fixture.server, alice);
      client.send(`<iq type='set' id='bind_1'><bind xmlns='${NS_BIND}'><resource>balcony</resource></bind></iq>`);
      await client.expect(xml`<iq type='result' id='bind_1'><bind xmlns='${NS_BIND}'><jid>${alice}@localhost/balcony</jid></bind></iq>`);
    });

    it('generates a resource when the client asks for none', async () => {
      const alice = await user('alice');
      const { client } = await authenticated(fixture.server, alice);
      client.send(`<iq type='set' id='bind_1'><bind xmlns='${NS_BIND}'/></iq>`);
      const result = await client.expect(xml`<iq type='result' id='bind_1'/>`);
      const jid = result.getChild('bind', NS_BIND)?.getChildText('jid');
      expect(jid).toMatch(new RegExp(`^${alice}@localhost/\\S+$`));
    });

    it('answers a resource that is not valid with bad-request (RFC 6120 §7.7.2.1)', async () => {
      const { client } = await authenticated(fixture.server, await user('alice'));
      client.send(`<iq type='set' id='bind_1'><bind xmlns='${NS_BIND}'><resource>${'r'.repeat(1024)}</resource></bind></iq>`);
      await client.expect(xml`<iq type='error' id='bind_1'><error type='modify'><bad-request xmlns='${NS_STANZAS}'/></error></iq>`);
      await expect(client.bind('valid')).resolves.toSatisfy(xml`<iq type='result'/>`);
    });

    it('generates a resource for an empty resource element', async () => {
      const alice = await user('alice');
      const { client } = await authenticated(fixture.server, alice);
      client.send(`<iq type='set' id='bind_1'><bind xmlns='${NS_BIND}'><resource/></bind></iq>`);
      const result = await client.expect(xml`<iq type='result' id='bind_1'/>`);
      expect(result.getChild('bind', NS_BIND)?.getChildText('jid')).toMatch(new RegExp(`^${alice}@localhost/\\S+$`));
    });

    it('generates different resources for two sessions', async () => {
      const alice = await user('alice');
      const first = await fixture.server.login(alice);
      const second = await fixture.server.login(alice);
      expect(first.jid).not.toBe(second.jid);
    });

    it('replaces a session that holds the same resource: the old one gets a conflict stream error', async () => {
      const alice = await user('alice');
      const old = await fixture.server.login(alice, 'home');
      const replacement = await fixture.server.login(alice, 'home');
      expect(replacement.jid).toBe(`${alice}@localhost/home`);
      await old.expect(xml`<stream:error><conflict xmlns='${NS_STREAMS}'/></stream:error>`);
      await old.closed();
      expect(old.streamClosed).toBe(true);
      // The new session works.
      await expect(replacement.iq('get', "<query xmlns='jabber:iq:roster'/>")).resolves.toSatisfy(xml`<iq type='result'/>`);
    });

    it('tells the contacts of a replaced session that it went unavailable', async () => {
      const [alice, bob] = [await user('alice'), await user('bob')];
      const old = await fixture.server.login(alice, 'home');
      const contact = await fixture.server.login(bob, 'desk');
      await befriend(old, contact);
      old.send('<presence/>');
      contact.send('<presence/>');
      await contact.expect(xml`<presence from='${alice}@localhost/home'/>`);
      await fixture.server.login(alice, 'home');
      await contact.expect(xml`<presence from='${alice}@localhost/home' type='unavailable'/>`);
    });

    it('answers the legacy session iq with an empty result when it offers it', async (context) => {
      const { client, features } = await authenticated(fixture.server, await user('alice'));
      if (!features.getChild('session', NS_SESSION)) context.skip(); // RFC 6121 §1: optional, may land later
      await client.bind('desk');
      client.send(`<iq type='set' id='sess_1'><session xmlns='${NS_SESSION}'/></iq>`);
      const result = await client.expect(xml`<iq type='result' id='sess_1'/>`);
      expect(result.children).toEqual([]);
    });

    it('answers a second bind on a bound stream with service-unavailable', async () => {
      const alice = await user('alice');
      const client = await fixture.server.login(alice, 'desk');
      client.send(`<iq type='set' id='bind_2'><bind xmlns='${NS_BIND}'><resource>other</resource></bind></iq>`);
      await client.expect(xml`<iq type='error' id='bind_2'><error type='cancel'><service-unavailable xmlns='${NS_STANZAS}'/></error></iq>`);
    });

    it('answers stanzas sent after authentication but before bind with service-unavailable and never routes them', async () => {
      const [alice, bob] = [await user('alice'), await user('bob')];
      const recipient = await fixture.server.login(bob, 'desk');
      recipient.send('<presence/>');
      await recipient.expect('presence');
      const { client } = await authenticated(fixture.server, alice);
      client.send(`<message to='${bob}@localhost' id='m1' type='chat'><body>too early</body></message>`);
      await client.expect(xml`<message type='error' id='m1'><error type='cancel'><service-unavailable xmlns='${NS_STANZAS}'/></error></message>`);
      client.send("<iq type='get' id='r1'><query xmlns='jabber:iq:roster'/></iq>");
      await client.expect(xml`<iq type='error' id='r1'><error type='cancel'><service-unavailable xmlns='${NS_STANZAS}'/></error></iq>`);
      await recipient.barrier();
      expect(recipient.take('message')).toEqual([]);
    });

    it('closes the stream with not-authorized when a stanza comes before authentication', async () => {
      const client = await readyForSasl(fixture.server);
      client.send("<message to='someone@localhost'><body>hello</body></message>");
      await client.expect(xml`<stream:error><not-authorized xmlns='${NS_STREAMS}'/></stream:error>`);
      await client.closed();
      expect(client.streamClosed).toBe(true);
    });
  });
});
