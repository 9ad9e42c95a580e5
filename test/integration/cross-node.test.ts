// The 'cluster' test server that the protocol suites run on: its parties really sit on different
// nodes, and a barrier covers what is still travelling between them.
import { Element } from 'ltx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJid } from '../../src/xmpp/jid.js';
import { xml } from '../support/client.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('the two-node test server', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ backend: 'cluster' });
    for (const local of ['alice', 'bob', 'carol', 'dave', 'erin']) await server.createUser(local);
  });
  afterAll(() => server.stop());

  it('runs two nodes with their own node ids', () => {
    expect(server.nodes).toHaveLength(2);
    const [a, b] = server.nodes.map((node) => node.host.nodeId);
    expect(a).not.toBe(b);
    expect(server.nodes.every((node) => node.host.bus !== undefined)).toBe(true);
  });

  it("puts accounts on alternating nodes and each account's further resources on the next node", async () => {
    const aliceDesk = await server.login('alice', 'desk');
    const bobDesk = await server.login('bob', 'desk');
    const alicePhone = await server.login('alice', 'phone');
    const carol = await server.login('carol', 'desk');
    const [a, b] = server.nodes;
    expect([aliceDesk, bobDesk, alicePhone, carol].map((client) => server.nodeOf(client))).toEqual([a, b, b, a]);
    // The session registry agrees with where the sockets went.
    for (const client of [aliceDesk, bobDesk, alicePhone, carol]) {
      const { host } = server.nodeOf(client);
      expect((await host.state.registry.get(client.jid as string))?.node).toBe(host.nodeId);
    }
  });

  it('has everything already routed from the other node in the inbox once the barrier returns', async () => {
    const dave = await server.login('dave', 'desk');
    const erin = await server.login('erin', 'desk');
    const sending = server.nodeOf(dave);
    expect(sending).not.toBe(server.nodeOf(erin));
    // Routed on dave's node as if dave had sent them, all at once (no client rate limit in the
    // way): erin's node needs several reads of its inbox stream, and a ping round trip alone
    // comes back before the last of them are handled.
    const count = 1000;
    const [from, to] = [parseJid(dave.jid as string), parseJid(erin.jid as string)];
    await Promise.all(
      Array.from({ length: count }, (_, i) => {
        const stanza = new Element('message', { from: dave.jid, to: erin.jid, type: 'chat', id: `x${i}` }).c('body').t(String(i)).root();
        return sending.host.router.route({ stanza, kind: 'message', from, to });
      }),
    );
    await erin.barrier();
    // No waiting here: the barrier alone must have brought all of them.
    // (Routed concurrently, so in no particular order.)
    const arrived = erin.take(xml`<message type='chat'/>`).map((message) => String(message.attrs.id));
    expect(arrived.sort()).toEqual(Array.from({ length: count }, (_, i) => `x${i}`).sort());
    // The barrier's own marker is not left behind.
    expect(erin.inbox).toEqual([]);
    expect(erin.log.filter((element) => String(element.attrs.id).startsWith('settle-'))).toEqual([]);
  });
});
