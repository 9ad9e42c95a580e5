// The mechanisms a node offers are configurable (ROOKERY_SASL_MECHANISMS): after an import of
// SCRAM-SHA-1 keys only, an operator leaves SCRAM-SHA-256 out until its users have logged in.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SASL_MECHANISMS } from '../../src/config/types.js';
import { MECHANISMS } from '../../src/sasl/index.js';
import { startTestServer, type TestServer } from '../support/server.js';

const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';

describe('the SASL mechanisms a node offers', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ config: { saslMechanisms: 'SCRAM-SHA-1,PLAIN' } });
    await server.createUser('alice');
  });
  afterAll(() => server.stop());

  it('are the configured ones, in their order, after the -PLUS variants of the SCRAM ones over TLS, and a request for another one is invalid-mechanism', async () => {
    const client = await server.connect();
    await client.openStream();
    await client.startTls();
    const features = await client.openStream();
    const offered = features.getChild('mechanisms', NS_SASL)?.getChildren('mechanism').map((mechanism) => mechanism.getText());
    expect(offered).toEqual(['SCRAM-SHA-1-PLUS', 'SCRAM-SHA-1', 'PLAIN']);
    client.send(`<auth xmlns='${NS_SASL}' mechanism='SCRAM-SHA-256'>biwsbj1hbGljZSxyPWFiY2Q=</auth>`);
    const failure = await client.expect((element) => element.name === 'failure');
    expect(failure.getChild('invalid-mechanism')).toBeDefined();
    client.destroy();
  });

  it('can name every mechanism the server implements, and only those', () => {
    expect([...SASL_MECHANISMS]).toEqual([...MECHANISMS]);
  });
});
