// Admission limits (RFC 6120 §13.12): new connections per address, and connections per node.
// A refused connection gets a stream header, the stream error and the closing tag (§4.9.1.1).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_LIMITS, type Limits } from '../../src/config.js';
import { RawClient } from '../support/client.js';
import { PASSWORD, startTestServer, type TestServer } from '../support/server.js';
import { recordLimits } from './support.js';

const NS_STREAMS = 'urn:ietf:params:xml:ns:xmpp-streams';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

async function start(limits: Partial<Limits>): Promise<{ server: TestServer; enforced: Map<string, number> }> {
  server = await startTestServer({ config: { limits: { ...DEFAULT_LIMITS, addressConnectionsPerMinute: 0, maxConnections: 0, ...limits } } });
  const enforced = recordLimits(server.server.host);
  await server.createUser('alice');
  await server.createUser('bob');
  return { server, enforced };
}

/** The refused client is told why, in a stream of its own, and the connection closes. */
async function expectRefused(client: RawClient, condition: string): Promise<void> {
  const error = await client.expect('stream:error');
  expect(client.streamHeader?.from).toBe('localhost');
  expect(error.getChildByAttr('xmlns', NS_STREAMS)?.name).toBe(condition);
  await client.closed();
  expect(client.streamClosed).toBe(true);
}

describe('connection admission', () => {
  it('refuses connections from one address past its rate with policy-violation, while its open session keeps working', async () => {
    // One a minute: the burst of 3 is all this test can use up.
    const { server: s, enforced } = await start({ addressConnectionsPerMinute: 1, addressConnectionBurst: 3 });
    const alice = await s.login('alice', 'desk');
    await s.connect();
    await s.connect();

    const refused = await s.connect();
    await expectRefused(refused, 'policy-violation');
    const refusedTls = await s.connect({ directTls: true });
    await expectRefused(refusedTls, 'policy-violation');
    expect(enforced.get('c2s_connection_rate')).toBe(2);

    await alice.barrier();
    // Another address is not held to this one's rate.
    const bob = await s.connect({ localAddress: '127.0.0.2' });
    await bob.login('bob', PASSWORD, 'desk');
    alice.send(`<message to='${bob.jid}' type='chat' id='still-here'><body>hi</body></message>`);
    await bob.expect((e) => e.name === 'message' && e.attrs.id === 'still-here');
  });

  it('refuses connections past the node cap with resource-constraint, on both ports, until one closes', async () => {
    const { server: s, enforced } = await start({ maxConnections: 2 });
    const alice = await s.login('alice', 'desk');
    const idle = await s.connect();

    await expectRefused(await s.connect(), 'resource-constraint');
    await expectRefused(await s.connect({ directTls: true }), 'resource-constraint');
    expect(enforced.get('c2s_connection_cap')).toBe(2);
    await alice.barrier();

    await idle.close();
    await vi.waitFor(() => expect(s.server.connections.size).toBe(1));
    const bob = await s.login('bob', 'desk');
    await bob.barrier();
  });

  it('admits any number of connections when both limits are 0', async () => {
    const { server: s, enforced } = await start({});
    const clients = await Promise.all(Array.from({ length: 30 }, () => s.connect()));
    await Promise.all(clients.map(async (client) => expect((await client.openStream()).name).toBe('stream:features')));
    expect(enforced.size).toBe(0);
  });
});
