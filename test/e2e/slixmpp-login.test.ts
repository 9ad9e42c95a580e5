// slixmpp (Debian's python3-slixmpp), a third-party client, against the modern login offer: it
// takes SCRAM-SHA-256-PLUS, binds to the TLS channel (tls-unique, on the TLS 1.2 it negotiates for
// it), and logs in with legacy SASL beside the SASL2 it does not speak.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, startTestServer, type TestServer } from '../support/server.js';
import { SlixClient } from '../support/slix-client.js';

describe('slixmpp against the modern login offer', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.stop());

  it('logs in with SCRAM-SHA-256-PLUS bound to its TLS channel, binds and enables stream management', async () => {
    await server.createUser('slix');
    const client = await SlixClient.login({ jid: 'slix@localhost', password: PASSWORD, port: server.port, debug: true });
    expect(client.jid).toMatch(/^slix@localhost\//);
    expect(client.smId).toBeDefined();
    const mechanism = /mechanism=["']([A-Z0-9-]+)["']/.exec(client.stderr)?.[1];
    const gs2 = /^p=[a-z-]+/.exec(Buffer.from(/<auth[^>]*>([^<]+)</.exec(client.stderr)?.[1] ?? '', 'base64').toString())?.[0];
    expect(mechanism).toBe('SCRAM-SHA-256-PLUS');
    expect(gs2).toMatch(/^p=tls-(unique|exporter|server-end-point)$/);
    await client.kill();
  }, 30_000);
});
