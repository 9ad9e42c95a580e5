// XEP-0163 events on a three-node cluster (real nodes in this process, one real Redis): a publish
// reaches contacts on every node, with one bus envelope per other node that holds recipients,
// and a resource on a third node resolves caps another node already learnt without asking again.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { defaultConfig, type Config } from '../../src/config.js';
import { createAccount } from '../../src/core/accounts.js';
import { silentLogger } from '../../src/log.js';
import { type RunningNode, startNode } from '../../src/main.js';
import type { BusEnvelope } from '../../src/state/bus.js';
import { befriend, RawClient } from '../support/client.js';
import { announce, announceFeatures, capsFeatures, eventItems, publishXml, sendCaps } from '../support/pep.js';

const DEVICES = 'eu.siacs.conversations.axolotl.devicelist';
const CONTACTS = ['c0', 'c1', 'c2', 'c3', 'c4', 'c5'];

describe('PEP events on a three-node cluster', () => {
  let nodes: RunningNode[] = [];
  const sent: Array<{ from: string; to: string; envelope: BusEnvelope }> = [];
  const prefix = `pepc${randomBytes(3).toString('hex')}`;

  const config = (index: number): Config => ({
    ...defaultConfig(),
    s2sPort: 0, // no federation: test nodes on one machine would contend for 5269
    bindAddress: '127.0.0.1',
    c2sPort: 0,
    c2sTlsPort: 0,
    httpPort: 0,
    nodeId: `${prefix}-${index}`,
    redisUrl: inject('redisUrl'),
    redisPrefix: prefix,
  });

  beforeAll(async () => {
    for (let index = 0; index < 3; index++) nodes.push(await startNode(config(index), silentLogger()));
    for (const user of ['owner', ...CONTACTS]) await createAccount(nodes[0]!.state, `${user}@localhost`, 'pw');
    // Record what each node puts on the bus (the envelopes still travel through Redis).
    for (const node of nodes) {
      const bus = node.server.host.bus!;
      const send = bus.send.bind(bus);
      bus.send = (to, envelope) => {
        sent.push({ from: node.server.host.nodeId, to, envelope });
        return send(to, envelope);
      };
    }
  });

  afterAll(async () => {
    for (const node of [...nodes].reverse()) await node.stop();
    nodes = [];
  });

  async function login(index: number, user: string): Promise<RawClient> {
    const client = await RawClient.connect({ port: nodes[index]!.server.ports().c2s });
    await client.login(user, 'pw', 'r');
    return client;
  }

  it('reaches the interested contacts on every node with one envelope per other node', async () => {
    const owner = await login(0, 'owner');
    const contacts: RawClient[] = [];
    for (const [index, name] of CONTACTS.entries()) {
      const contact = await login(index % 3, name);
      await befriend(owner, contact);
      contacts.push(contact);
    }
    // c0..c4 want device lists; c5 (on node 2) does not.
    for (const contact of contacts.slice(0, 5)) await announce(contact, [DEVICES]);
    await announce(contacts[5]!, ['urn:test:else']);
    for (const contact of contacts) await contact.barrier();
    sent.length = 0;
    const reply = await owner.iq('set', publishXml(DEVICES, 'current', "<list xmlns='eu.siacs.conversations.axolotl'><device id='7'/></list>", { 'pubsub#access_model': 'open' }));
    expect(reply.attrs.type).toBe('result');
    for (const contact of contacts.slice(0, 5)) {
      const event = await contact.expect((element) => eventItems(element, DEVICES) !== undefined);
      expect(event.attrs.to).toBe(contact.jid);
    }
    await contacts[5]!.barrier();
    expect(contacts[5]!.take((element) => eventItems(element, DEVICES) !== undefined)).toEqual([]);
    const events = sent.filter(({ envelope }) => (envelope.kind === 'fanout' || envelope.kind === 'stanza') && envelope.xml.includes(DEVICES));
    // Node 1 holds c1 and c4 (one fanout); node 2 holds c2 only among the interested (one stanza).
    expect(events.map(({ from, to, envelope }) => `${from}→${to} ${envelope.kind} ${envelope.kind === 'fanout' ? [...envelope.to].sort().join(',') : envelope.to}`).sort()).toEqual([
      `${prefix}-0→${prefix}-1 fanout c1@localhost/r,c4@localhost/r`,
      `${prefix}-0→${prefix}-2 stanza c2@localhost/r`,
    ]);
    for (const client of [owner, ...contacts]) await client.close();
  });

  it('puts explicit subscribers (XEP-0060 §6.1) into the same envelopes as the caps recipients of their node', async () => {
    const owner = await login(0, 'owner');
    const node = 'urn:test:subscribed';
    // c0 (node 0) and c1 (node 1) want the node by caps; c3 (node 0), c4 (node 1) and c5 (node 2) subscribe.
    const clients = [await login(0, 'c0'), await login(1, 'c1'), await login(0, 'c3'), await login(1, 'c4'), await login(2, 'c5')];
    for (const client of clients.slice(0, 2)) {
      await befriend(owner, client);
      await announce(client, [node]);
    }
    // Their caps are stored for the cluster before the owner's node looks (else it waits to look again).
    for (const client of clients.slice(0, 2)) await client.barrier();
    await owner.iq('set', publishXml(node, 'first', "<x xmlns='urn:test'/>", { 'pubsub#access_model': 'open', 'pubsub#send_last_published_item': 'never' }));
    for (const client of clients.slice(2)) {
      const reply = await client.iq('set', `<pubsub xmlns='http://jabber.org/protocol/pubsub'><subscribe node='${node}' jid='${client.jid}'/></pubsub>`, 'owner@localhost');
      expect(reply.attrs.type).toBe('result');
    }
    for (const client of clients) await client.barrier();
    sent.length = 0;
    await owner.iq('set', publishXml(node, 'second', "<x xmlns='urn:test'/>"));
    for (const client of clients) expect((await client.expect((element) => eventItems(element, node) !== undefined)).attrs.to).toBe(client.jid);
    const events = sent.filter(({ envelope }) => (envelope.kind === 'fanout' || envelope.kind === 'stanza') && envelope.xml.includes(node));
    expect(events.map(({ from, to, envelope }) => `${from}→${to} ${envelope.kind} ${envelope.kind === 'fanout' ? [...envelope.to].sort().join(',') : envelope.to}`).sort()).toEqual([
      `${prefix}-0→${prefix}-1 fanout c1@localhost/r,c4@localhost/r`,
      `${prefix}-0→${prefix}-2 stanza c5@localhost/r`,
    ]);
    for (const client of [owner, ...clients]) await client.close();
  });

  it('asks one resource about a caps ver, and a resource on another node with the same caps is not asked', async () => {
    const owner = await login(0, 'owner');
    const first = await login(1, 'c0');
    const second = await login(2, 'c1');
    const features = capsFeatures(['http://jabber.org/protocol/nick'], randomBytes(6).toString('hex'));
    await announceFeatures(first, features);
    await first.barrier();
    sendCaps(second, features);
    await second.barrier();
    await owner.iq('set', publishXml('http://jabber.org/protocol/nick', 'current', "<nick xmlns='http://jabber.org/protocol/nick'>Owner</nick>"));
    for (const contact of [first, second]) await contact.expect((element) => eventItems(element, 'http://jabber.org/protocol/nick') !== undefined);
    expect(second.take((element) => element.name === 'iq' && element.attrs.type === 'get')).toEqual([]);
    for (const client of [owner, first, second]) await client.close();
  });
});
