// RFC 6120 §4 (streams), §5 (STARTTLS) and the mechanisms offered for §6, over real sockets.
import type { Element } from 'ltx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../src/config.js';
import { RawClient, xml } from '../support/client.js';
import { BACKENDS, PASSWORD, startTestServer, type TestServer } from '../support/server.js';

const NS_TLS = 'urn:ietf:params:xml:ns:xmpp-tls';
const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';
const NS_BIND = 'urn:ietf:params:xml:ns:xmpp-bind';

function mechanisms(features: Element): string[] {
  return (features.getChild('mechanisms', NS_SASL)?.getChildren('mechanism') ?? []).map((m: Element) => m.getText());
}

/** Old TLS needs the client's own security level lowered, so that only the server can refuse it. */
const TLS_1_1 = { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' } as const;

describe.each(BACKENDS)('XML streams (%s backend)', (backend) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ backend });
    await server.createUser('alice');
    await server.createUser('bob');
  });
  afterAll(() => server.stop());

  it('answers a stream header with its own header carrying an id, the domain as from and version 1.0', async () => {
    const client = await server.connect();
    await client.openStream();
    expect(client.streamHeader).toMatchObject({
      from: 'localhost',
      version: '1.0',
      xmlns: 'jabber:client',
      'xmlns:stream': 'http://etherx.jabber.org/streams',
    });
    expect(client.streamHeader?.id).toMatch(/^\S{8,}$/);
  });

  it('answers a header with a higher version with version 1.0 (RFC 6120 §4.7.5)', async () => {
    const client = await server.connect();
    client.send("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.1'>");
    await client.expect('stream:features');
    expect(client.streamHeader?.version).toBe('1.0');
  });

  it('gives every stream a different id', async () => {
    const first = await server.connect();
    const second = await server.connect();
    await first.openStream();
    await second.openStream();
    expect(first.streamHeader?.id).not.toBe(second.streamHeader?.id);
  });

  it('offers only required STARTTLS before TLS, and no SASL mechanisms', async () => {
    const client = await server.connect();
    const features = await client.openStream();
    expect(xml`<stream:features><starttls xmlns='${NS_TLS}'><required/></starttls></stream:features>`(features)).toBe(true);
    expect(features.getChild('mechanisms', NS_SASL)).toBeUndefined();
  });

  it('offers SCRAM-SHA-256, SCRAM-SHA-1 (each after its channel-bound -PLUS) and PLAIN after STARTTLS, and no second STARTTLS', async () => {
    const client = await server.connect();
    await client.openStream();
    await client.startTls();
    const features = await client.openStream();
    expect(client.encrypted).toBe(true);
    expect(mechanisms(features)).toEqual(['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-1-PLUS', 'SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN']);
    expect(features.getChild('starttls', NS_TLS)).toBeUndefined();
  });

  it('offers the mechanisms at once on the direct TLS port', async () => {
    const client = await server.connect({ directTls: true });
    const features = await client.openStream();
    expect(client.encrypted).toBe(true);
    expect(mechanisms(features)).toEqual(['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-1-PLUS', 'SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN']);
    expect(features.getChild('starttls', NS_TLS)).toBeUndefined();
  });

  it('logs in over the direct TLS port', async () => {
    const client = await server.connect({ directTls: true });
    await expect(client.login('alice', PASSWORD, 'direct')).resolves.toBe('alice@localhost/direct');
  });

  it('refuses PLAIN over plain TCP with encryption-required when plaintext auth is off', async () => {
    const client = await server.connect();
    await client.openStream();
    const outcome = await client.authPlain('alice', PASSWORD);
    expect(xml`<failure xmlns='${NS_SASL}'><encryption-required/></failure>`(outcome)).toBe(true);
  });

  it('answers the client closing its stream by closing its own and the connection', async () => {
    const client = await server.login('alice', 'closing');
    client.send('</stream:stream>');
    await client.closed();
    expect(client.streamClosed).toBe(true);
    expect(client.streamError()).toBeUndefined();
  });

  it('handles the stanzas that came before the closing tag before closing (RFC 6120 §4.4)', async () => {
    const alice = await server.login('alice', 'leaving');
    const bob = await server.login('bob', 'desk');
    bob.send('<presence/>');
    await bob.expect('presence');
    const burst = [1, 2, 3].map((i) => `<message to='bob@localhost' type='chat' id='last${i}'><body>goodbye ${i}</body></message>`).join('');
    alice.send(`${burst}</stream:stream>`);
    await alice.closed();
    for (const i of [1, 2, 3]) await bob.expect(xml`<message from='alice@localhost/leaving' id='last${i}'><body>goodbye ${i}</body></message>`);
  });

  it('closes an unauthenticated stream the client closes', async () => {
    const client = await server.connect();
    await client.openStream();
    client.send('</stream:stream>');
    await client.closed();
    expect(client.streamClosed).toBe(true);
  });

  it('restarts the stream after SASL success: a new header with a new id, then bind', async () => {
    const client = await server.connect();
    await client.openStream();
    await client.startTls();
    await client.openStream();
    const before = client.streamHeader?.id;
    const outcome = await client.authPlain('alice', PASSWORD);
    expect(xml`<success xmlns='${NS_SASL}'/>`(outcome)).toBe(true);
    const features = await client.openStream();
    expect(client.streamHeader?.id).toMatch(/^\S{8,}$/);
    expect(client.streamHeader?.id).not.toBe(before);
    expect(xml`<stream:features><bind xmlns='${NS_BIND}'/></stream:features>`(features)).toBe(true);
    expect(features.getChild('mechanisms', NS_SASL)).toBeUndefined();
  });

  it('refuses TLS older than 1.2 on the direct TLS port', async () => {
    const attempt = RawClient.connect({ port: server.tlsPort, directTls: true, tls: TLS_1_1 });
    await expect(attempt).rejects.toMatchObject({ code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' });
  });

  it('refuses TLS older than 1.2 after STARTTLS', async () => {
    const client = await server.connect();
    await client.openStream();
    await expect(client.startTls(TLS_1_1)).rejects.toMatchObject({ code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' });
  });

  it('still accepts TLS 1.2', async () => {
    const client = await server.connect({ directTls: true, tls: { maxVersion: 'TLSv1.2' } });
    const features = await client.openStream();
    expect(mechanisms(features)).toContain('PLAIN');
  });

  describe('with a short authentication timeout', () => {
    let impatient: TestServer;
    beforeAll(async () => {
      impatient = await startTestServer({ backend, config: { limits: { ...DEFAULT_LIMITS, authTimeoutSeconds: 1 } } });
      await impatient.createUser('alice');
    });
    afterAll(() => impatient.stop());

    it('closes a connection that does not authenticate in time with connection-timeout', async () => {
      const client = await impatient.connect();
      await client.openStream();
      await client.expect(xml`<stream:error><connection-timeout xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>`, 5000);
      await client.closed();
      expect(client.streamClosed).toBe(true);
    });

    it('leaves a bound session alone after the timeout', async () => {
      const client = await impatient.login('alice', 'desk');
      client.send('<presence/>');
      await client.expect('presence');
      // Outlast the timeout by waiting for the next client's timeout, which is armed later.
      const other = await impatient.connect();
      await other.openStream();
      await other.expect('stream:error', 5000);
      await client.barrier();
      expect(client.streamError()).toBeUndefined();
      expect(client.socketClosed).toBe(false);
    });
  });

  describe('with plaintext authentication allowed', () => {
    let plain: TestServer;
    beforeAll(async () => {
      plain = await startTestServer({ backend, config: { allowPlaintextAuth: true } });
      await plain.createUser('alice');
    });
    afterAll(() => plain.stop());

    it('offers optional STARTTLS and the mechanisms over plain TCP', async () => {
      const client = await plain.connect();
      const features = await client.openStream();
      const starttls = features.getChild('starttls', NS_TLS);
      expect(starttls).toBeDefined();
      expect(starttls?.getChild('required')).toBeUndefined();
      expect(mechanisms(features)).toEqual(['SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN']);
    });

    it('accepts PLAIN over plain TCP', async () => {
      const client = await plain.connect();
      await client.openStream();
      const outcome = await client.authPlain('alice', PASSWORD);
      expect(xml`<success xmlns='${NS_SASL}'/>`(outcome)).toBe(true);
      expect(client.encrypted).toBe(false);
    });
  });
});
