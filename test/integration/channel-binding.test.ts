// SCRAM-*-PLUS channel binding (RFC 5802 §6) with tls-exporter (RFC 9266), tls-unique and
// tls-server-end-point (RFC 5929), XEP-0440 <sasl-channel-binding/>, XEP-0474 downgrade
// protection, and the SCRAM iteration count (raised keys at the next PLAIN login), over real
// TLS sockets in legacy SASL and SASL2.
import { createHash } from 'node:crypto';
import type { Element } from 'ltx';
import { describe, expect, it } from 'vitest';
import type { RawClient } from '../support/client.js';
import { useTestServer } from '../support/fixture.js';
import { BACKENDS, PASSWORD, type TestServer } from '../support/server.js';
import { clientBinding, failureCondition, NS_SASL, NS_SASL2, readyForSasl2, scram2 } from '../support/sasl2.js';

const NS_SASL_CB = 'urn:xmpp:sasl-cb:0';

/** The mechanisms and binding types offered, as a client sees them. */
function offer(features: Element): { mechanisms: string[]; bindings: string[] } {
  return {
    mechanisms: features.getChild('mechanisms', NS_SASL)?.getChildren('mechanism').map((m) => m.getText()) ?? [],
    bindings: features.getChild('sasl-channel-binding', NS_SASL_CB)?.getChildren('channel-binding').map((c) => String(c.attrs.type)) ?? [],
  };
}

/** The server-first-message of a SASL2 SCRAM-SHA-256 exchange (the exchange is then abandoned). */
async function serverFirst(client: RawClient, user: string, mechanism = 'SCRAM-SHA-256'): Promise<Map<string, string>> {
  client.send(`<authenticate xmlns='${NS_SASL2}' mechanism='${mechanism}'><initial-response>${Buffer.from(`n,,n=${user},r=nonce`).toString('base64')}</initial-response></authenticate>`);
  const challenge = await client.expect('challenge');
  const text = Buffer.from(challenge.getText(), 'base64').toString();
  client.send(`<abort xmlns='${NS_SASL2}'/>`);
  await client.expect('failure');
  return new Map(text.split(',').map((field) => [field.slice(0, 1), field.slice(2)]));
}

async function tls12(server: TestServer): Promise<RawClient> {
  const client = await server.connect();
  await client.openStream();
  await client.startTls({ maxVersion: 'TLSv1.2' });
  return client;
}

describe.each(BACKENDS)('channel binding and SCRAM keys (%s backend)', (backend) => {
  const fixture = useTestServer({ backend });
  const user = fixture.user;

  it('offers the -PLUS mechanisms first and names tls-exporter and tls-server-end-point on TLS 1.3 (XEP-0440)', async () => {
    const { client, features } = await readyForSasl2(fixture.server);
    expect(offer(features)).toEqual({ mechanisms: ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-1-PLUS', 'SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN'], bindings: ['tls-exporter', 'tls-server-end-point'] });
    expect(features.getChild('authentication', NS_SASL2)?.getChildren('mechanism').map((m) => m.getText())[0]).toBe('SCRAM-SHA-256-PLUS');
    await client.close();
  });

  it('names tls-unique instead of tls-exporter on TLS 1.2, and binds to it', async () => {
    const alice = await user('alice');
    const client = await tls12(fixture.server);
    expect(offer(await client.openStream()).bindings).toEqual(['tls-unique', 'tls-server-end-point']);
    const { outcome, serverVerified } = await scram2(client, alice, PASSWORD, { mechanism: 'SCRAM-SHA-256-PLUS', gs2: 'p=tls-unique,,', cbData: clientBinding(client, 'tls-unique') });
    expect(outcome.name).toBe('success');
    expect(serverVerified).toBe(true);
    await client.close();
  });

  for (const type of ['tls-exporter', 'tls-server-end-point'] as const) {
    it(`logs in with SCRAM-SHA-256-PLUS and SCRAM-SHA-1-PLUS bound with ${type}`, async () => {
      const alice = await user('alice');
      for (const hash of ['sha256', 'sha1'] as const) {
        const { client } = await readyForSasl2(fixture.server);
        const mechanism = hash === 'sha256' ? 'SCRAM-SHA-256-PLUS' : 'SCRAM-SHA-1-PLUS';
        const { outcome, serverVerified } = await scram2(client, alice, PASSWORD, { hash, mechanism, gs2: `p=${type},,`, cbData: clientBinding(client, type) });
        expect(outcome.name).toBe('success');
        expect(serverVerified).toBe(true);
        await client.close();
      }
    });
  }

  it('refuses binding data from another TLS channel (a man in the middle) with not-authorized', async () => {
    const alice = await user('alice');
    const { client } = await readyForSasl2(fixture.server);
    const { client: other } = await readyForSasl2(fixture.server);
    const { outcome } = await scram2(client, alice, PASSWORD, { mechanism: 'SCRAM-SHA-256-PLUS', gs2: 'p=tls-exporter,,', cbData: clientBinding(other, 'tls-exporter') });
    expect(failureCondition(outcome)).toBe('not-authorized');
    await client.close();
    await other.close();
  });

  it('refuses a binding type it did not offer, and the y flag when it offered binding (a downgrade)', async () => {
    const alice = await user('alice');
    const { client } = await readyForSasl2(fixture.server);
    const unique = await scram2(client, alice, PASSWORD, { mechanism: 'SCRAM-SHA-256-PLUS', gs2: 'p=tls-unique,,', cbData: Buffer.alloc(12) });
    expect(failureCondition(unique.outcome)).toBe('malformed-request');
    const downgraded = await scram2(client, alice, PASSWORD, { gs2: 'y,,' });
    expect(failureCondition(downgraded.outcome)).toBe('not-authorized');
    await client.close();
  });

  it('sends the XEP-0474 hash of what it offered in the server-first-message, as the client computes it (h, sorted, %x1E/%x1F)', async () => {
    const alice = await user('alice');
    const { client, features } = await readyForSasl2(fixture.server);
    const { mechanisms, bindings } = offer(features);
    const sasl2 = features.getChild('authentication', NS_SASL2)?.getChildren('mechanism').map((m) => m.getText());
    expect(sasl2).toEqual(mechanisms);
    const first = await serverFirst(client, alice);
    const expected = `${[...mechanisms].sort().join('\x1e')}\x1f${[...bindings].sort().join('\x1e')}`;
    expect(first.get('h')).toBe(createHash('sha256').update(expected).digest('base64'));
    expect(first.has('d')).toBe(false);
    await client.close();
  });

  it('raises the iteration count of old keys at the next PLAIN login', async () => {
    const alice = await user('alice'); // created with 4096 iterations
    const { client } = await readyForSasl2(fixture.server);
    expect((await serverFirst(client, alice)).get('i')).toBe('4096');
    client.send(`<auth xmlns='${NS_SASL}' mechanism='PLAIN'>${Buffer.from(`\0${alice}\0${PASSWORD}`).toString('base64')}</auth>`);
    expect((await client.expect('success')).name).toBe('success');
    client.destroy();
    const { client: next } = await readyForSasl2(fixture.server);
    expect((await serverFirst(next, alice)).get('i')).toBe(String(fixture.server.config.scramIterations));
    expect(fixture.server.config.scramIterations).toBe(10_000);
    const { outcome } = await scram2(next, alice, PASSWORD);
    expect(outcome.name).toBe('success');
    await next.close();
  });
});
