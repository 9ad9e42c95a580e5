// Federation from a 3-node Rookery cluster (Redis) with Prosody: the Rookery sender, the Rookery
// receiver and the incoming s2s stream are each on a different node. Every node listens for s2s
// on its own loopback address (as pods have their own); Prosody reaches the IP-literal domain
// 127.20.0.3 on node a, and verifies node b's dialback key there (the secret is shared in Redis).
import { mkdtempSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { defaultConfig, type Config } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { type RunningNode, startNode } from '../../src/main.js';
import { deriveCredentials } from '../../src/sasl/credentials.js';
import { RawClient } from '../support/client.js';
import { freePorts } from '../support/cluster.js';
import { prosodyAvailable, startProsody, type Prosody } from '../support/prosody.js';
import { PASSWORD } from '../support/server.js';

const DOMAIN = '127.20.0.3';
const ADDRESSES = ['127.20.0.3', '127.20.0.4', '127.20.0.5'];
const PEER = 'prosody-cluster.test';

describe.skipIf(!prosodyAvailable())('federation from a 3-node cluster with Prosody', () => {
  let prosody: Prosody;
  const nodes: RunningNode[] = [];

  beforeAll(async () => {
    const [c2s, s2s] = (await freePorts(2)) as [number, number];
    prosody = await startProsody(mkdtempSync(join(tmpdir(), 'rk-s2s-')), PEER, c2s, s2s);
    const shared: Config = {
      ...defaultConfig(),
      domain: DOMAIN,
      c2sPort: 0,
      c2sTlsPort: 0,
      httpPort: 0,
      s2sPort: 5269,
      s2sRoutes: `${PEER}=127.0.0.1:${s2s}`,
      redisUrl: inject('redisUrl'),
      redisPrefix: `s2s${randomBytes(4).toString('hex')}`,
    };
    for (const [index, address] of ADDRESSES.entries()) nodes.push(await startNode({ ...shared, bindAddress: address, nodeId: `s2s-${index}` }, silentLogger()));
  }, 60_000);
  afterAll(async () => {
    for (const node of nodes.reverse()) await node.stop();
    await prosody?.stop();
  });

  const loginOn = async (index: number, user: string, resource: string): Promise<RawClient> => {
    const node = nodes[index] as RunningNode;
    const client = await RawClient.connect({ host: ADDRESSES[index], port: node.server.ports().c2s, domain: DOMAIN });
    await client.login(user, PASSWORD, resource);
    client.send('<presence/>');
    return client;
  };

  it('carries messages each way with sender, receiver and incoming stream on three nodes', async () => {
    const state = (nodes[0] as RunningNode).state;
    for (const user of ['alice', 'carol']) await state.accounts.create(`${user}@${DOMAIN}`, await deriveCredentials(PASSWORD, 4096));
    prosody.register('bob', PASSWORD);
    const alice = await loginOn(1, 'alice', 'a'); // sender: node b, whose outgoing stream carries it
    const carol = await loginOn(2, 'carol', 'c'); // receiver: node c
    const bob = await RawClient.connect({ port: prosody.c2sPort, domain: PEER });
    await bob.login('bob', PASSWORD, 'b');
    bob.send('<presence/>');
    alice.send(`<message type='chat' to='bob@${PEER}' id='c1'><body>from node b</body></message>`);
    const got = await bob.expect((el) => el.name === 'message' && el.attrs.id === 'c1', 20_000);
    expect(got.attrs.from).toBe(alice.jid);
    bob.send(`<message type='chat' to='carol@${DOMAIN}' id='c2'><body>to node c</body></message>`);
    const back = await carol.expect((el) => el.name === 'message' && el.attrs.id === 'c2', 20_000);
    expect(back.attrs.from).toBe(bob.jid);
    // The incoming stream is node a's; node b has the outgoing one; node c has none.
    const streams = nodes.map((node) => node.server.s2s?.streams() ?? []);
    expect(streams[0]).toContainEqual({ direction: 'in', remote: PEER, ready: true, secure: true, directTls: false, auth: 'dialback' });
    expect(streams[1]).toContainEqual({ direction: 'out', remote: PEER, ready: true, secure: true, directTls: false, auth: 'dialback' });
    expect(streams[2]?.some((stream) => stream.direction === 'in')).toBe(false);
    for (const client of [alice, carol, bob]) await client.close();
  }, 60_000);
});
