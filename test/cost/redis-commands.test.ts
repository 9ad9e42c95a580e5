// Counts the Redis commands the hot paths cost (cluster/README.md states the figures), with
// MONITOR on a real redis-server and two real nodes in this process; and the round trips a login
// waits for, on the nodes' own ioredis clients (test/support/round-trips.ts).
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { defaultConfig, type Config } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { type RunningNode, startNode } from '../../src/main.js';
import { createAccount } from '../../src/core/accounts.js';
import { befriend, RawClient } from '../support/client.js';
import { announce, eventItems, publishXml } from '../support/pep.js';
import { describeWaves, RoundTripCounter, type SentCommand } from '../support/round-trips.js';
import { authScram } from '../support/scram.js';


/** cluster/README.md, "Per login": the figures this test keeps true. */
const LOGIN_COMMANDS = 25;
/** Sequential waits on Redis for SASL, bind, roster get and initial presence (issue #23's goal). */
const LOGIN_ROUND_TRIPS = 5;
/** cluster/README.md, "Per PEP publish": commands besides one XADD per node holding recipients. */
const PUBLISH_COMMANDS = 3;
const CONTACTS = ['c0', 'c1', 'c2', 'c3', 'c4', 'c5'];
/** The script with which a node acknowledges and deletes the entries of its inbox it handled. */
const BUS_ACK = readFileSync(new URL('../../cluster/redis/scripts/bus-ack-1.lua', import.meta.url), 'utf8');
const BUS_ACK_SHA = createHash('sha1').update(BUS_ACK).digest('hex');

interface Captured {
  command: string;
  key: string;
  args: string[];
}

/** Each node's own inbox traffic, heartbeats and job polling: not caused by the operation measured. */
const BACKGROUND = ['XREADGROUP', 'XACK', 'XDEL', 'ZADD', 'ZRANGE', 'ECHO'];

describe('Redis commands per operation', () => {
  let nodes: RunningNode[] = [];
  let monitor: Redis;
  let client: Redis;
  let prefix: string;
  const captured: Captured[] = [];
  /** The commands on this test's keys that an operation causes (as `during` keeps them). */
  const caused = (command: string, key: string, first: string): boolean =>
    key.startsWith(`${prefix}:`) && !BACKGROUND.includes(command) && !isInboxAck(command, first) && !key.includes(':jobs');
  const counter = new RoundTripCounter(caused);

  const config = (index: number): Config => ({
    ...defaultConfig(),
    s2sPort: 0, // no federation: test nodes on one machine would contend for 5269
    bindAddress: '127.0.0.1',
    c2sPort: 0,
    c2sTlsPort: 0,
    httpPort: 0,
    nodeId: `cost${index}`,
    redisUrl: inject('redisUrl'),
    redisPrefix: prefix,
    allowPlaintextAuth: true,
    heartbeatMs: 60_000,
    nodeDeadAfterMs: 600_000,
    sweepEveryMs: 600_000,
  });

  /** Waits until MONITOR has shown every command issued so far (it reports asynchronously). */
  async function monitorCaughtUp(): Promise<void> {
    const marker = `barrier-${randomBytes(4).toString('hex')}`;
    await client.echo(marker);
    const deadline = Date.now() + 5000;
    while (!captured.some((entry) => entry.key === marker) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  }

  /** The commands on this test's keys that `action` caused, without each node's own inbox reads and acks. */
  async function during(action: () => Promise<void>): Promise<Captured[]> {
    await monitorCaughtUp();
    captured.length = 0;
    await action();
    await monitorCaughtUp();
    return captured.filter((entry) => caused(entry.command, entry.key, entry.args[1] ?? ''));
  }

  /**
   * `during`, and the Redis round trips the action waited for, counted in this process on the
   * nodes' own clients; the commands counted there must be those MONITOR saw, so that no command
   * can escape the count.
   */
  async function roundTrips(action: () => Promise<void>): Promise<{ roundTrips: number; waves: string[] }> {
    let counted: { commands: SentCommand[]; roundTrips: number } | undefined;
    await counter.idle();
    const seen = await during(async () => {
      counter.start();
      await action();
      counted = await counter.stop();
    });
    const names = (list: Array<{ command: string; key: string }>) => list.map((entry) => `${entry.command} ${entry.key}`).sort();
    expect(names(counted?.commands ?? [])).toEqual(names(seen));
    return { roundTrips: counted?.roundTrips ?? 0, waves: describeWaves(counted?.commands ?? []) };
  }

  /** bus-ack-1 on a node's own inbox (EVALSHA, or EVAL the first time). */
  function isInboxAck(command: string, first: string): boolean {
    // MONITOR escapes the script's text, so an EVAL is known by its first line.
    return (command === 'EVALSHA' && first === BUS_ACK_SHA) || (command === 'EVAL' && first.startsWith('-- bus-ack-1:'));
  }

  beforeAll(async () => {
    prefix = `cost${randomBytes(3).toString('hex')}`;
    nodes = [await startNode(config(0), silentLogger()), await startNode(config(1), silentLogger())];
    for (const user of ['alice', 'bob', 'carol', 'dave', 'erin', 'pub', 'pub2', 'sub0', 'sub1', ...CONTACTS]) await createAccount(nodes[0]!.state, `${user}@localhost`, 'pw');
    client = new Redis(inject('redisUrl'));
    monitor = await client.duplicate().monitor();
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      // Commands a Lua script runs are part of its one EVALSHA round trip.
      if (source === 'lua') return;
      const [command = '', first = '', , third = ''] = args;
      const upper = command.toUpperCase();
      // EVALSHA sha numkeys key…: name the script's first key.
      captured.push({ command: upper, key: upper === 'EVALSHA' || upper === 'EVAL' ? third : first, args });
    });
  });

  afterAll(async () => {
    counter.uninstall();
    monitor?.disconnect();
    client?.disconnect();
    for (const node of nodes) await node.stop();
  });

  /** SASL, stream restart, bind, initial presence until it is reflected (with `rosterFirst`, a roster get before it). */
  async function login(nodeIndex: number, user: string, resource: string, options: { mechanism?: 'PLAIN' | 'SCRAM-SHA-1'; rosterFirst?: boolean } = {}): Promise<RawClient> {
    const raw = await RawClient.connect({ port: nodes[nodeIndex]!.server.ports().c2s });
    await raw.openStream();
    const outcome = options.mechanism === 'SCRAM-SHA-1' ? await authScram(raw, user, 'pw') : await raw.authPlain(user, 'pw');
    expect(outcome.name).toBe('success');
    await raw.openStream();
    await raw.bind(resource);
    if (options.rosterFirst) await rosterGet(raw);
    raw.send('<presence/>');
    await raw.expect('presence');
    return raw;
  }

  async function rosterGet(raw: RawClient): Promise<void> {
    expect((await raw.iq('get', "<query xmlns='jabber:iq:roster'/>")).attrs.type).toBe('result');
  }

  it('costs a bounded number of commands for a login with roster fetch and initial presence', async () => {
    const commands = await during(async () => {
      const raw = await login(0, 'bob', 'counted');
      await rosterGet(raw);
      await raw.close();
    });
    // cluster/README.md: credentials, roster loads, session claim/update/release with their
    // indexes and counters (the scripts publish the change notices), the avatar hash, offline
    // messages; at logout the unavailable broadcast's reads and the rooms joined. A regression
    // shows up here as a larger number.
    expect(commands.length).toBeGreaterThan(0);
    expect(commands.length).toBeLessThanOrEqual(LOGIN_COMMANDS);
  });

  for (const mechanism of ['PLAIN', 'SCRAM-SHA-1'] as const) {
    it(`waits on Redis at most ${LOGIN_ROUND_TRIPS} times for a ${mechanism} login with initial presence and roster fetch, in either order`, async () => {
      // The first login loads the scripts on the node's connection; the figure is for the ones after.
      await (await login(1, 'erin', `warm-${mechanism}`, { mechanism })).close();
      for (const rosterFirst of [false, true]) {
        let raw: RawClient | undefined;
        const counted = await roundTrips(async () => {
          raw = await login(1, 'erin', `rt-${mechanism}-${rosterFirst}`, { mechanism, rosterFirst });
          if (!rosterFirst) await rosterGet(raw);
        });
        // SASL (credentials with the address's failures), bind (the claim with the node index,
        // the counter and the avatar hash), the presence's write with the broadcast's reads,
        // offline messages, the roster get's write with its read.
        expect(counted.roundTrips, counted.waves.join('\n')).toBeGreaterThan(0);
        expect(counted.roundTrips, counted.waves.join('\n')).toBeLessThanOrEqual(LOGIN_ROUND_TRIPS);
        await raw?.close();
      }
    });
  }

  // Routing alone: these messages carry XEP-0334 no-store; what archiving costs is counted below.
  it('costs no Redis command to send a message between two sessions on the same node', async () => {
    const alice = await login(0, 'alice', 'a');
    const bob = await login(0, 'bob', 'b');
    // Warm the node-local caches once, as any earlier traffic would.
    alice.send("<message to='bob@localhost' type='chat' id='warm'><body>warm</body><no-store xmlns='urn:xmpp:hints'/></message>");
    await bob.expect((element) => element.attrs.id === 'warm');
    const commands = await during(async () => {
      alice.send("<message to='bob@localhost/b' type='chat' id='full'><body>x</body><no-store xmlns='urn:xmpp:hints'/></message>");
      await bob.expect((element) => element.attrs.id === 'full');
      alice.send("<message to='bob@localhost' type='chat' id='bare'><body>x</body><no-store xmlns='urn:xmpp:hints'/></message>");
      await bob.expect((element) => element.attrs.id === 'bare');
    });
    expect(commands).toEqual([]);
    await alice.close();
    await bob.close();
  });

  it('costs exactly one Redis command (XADD to the owning node) to send a message to a full JID on another node', async () => {
    const alice = await login(0, 'alice', 'x');
    const carol = await login(1, 'carol', 'y');
    alice.send("<message to='carol@localhost/y' type='chat' id='warm2'><body>warm</body><no-store xmlns='urn:xmpp:hints'/></message>");
    await carol.expect((element) => element.attrs.id === 'warm2');
    const commands = await during(async () => {
      alice.send("<message to='carol@localhost/y' type='chat' id='cross'><body>x</body><no-store xmlns='urn:xmpp:hints'/></message>");
      await carol.expect((element) => element.attrs.id === 'cross');
    });
    expect(commands.map((entry) => `${entry.command} ${entry.args.join(' ')}`)).toEqual([expect.stringContaining('cross')]);
    expect(commands[0]?.key).toBe(`${prefix}:v1:node:{cost1}:inbox`);
    await alice.close();
    await carol.close();
  });

  it('costs one Redis command (the bus-send script) for what one event-loop turn sends to another node, delivered in order', async () => {
    const carol = await login(1, 'carol', 'z');
    const bus = nodes[0]!.server.host.bus!;
    const ids = ['b1', 'b2', 'b3'];
    const commands = await during(async () => {
      await Promise.all(
        ids.map((id) =>
          bus.send('cost1', { kind: 'stanza', id: `batch-${id}`, to: 'carol@localhost/z', xml: `<message to='carol@localhost/z' from='alice@localhost/x' type='chat' id='${id}'><body>x</body></message>`, hops: 0 }),
        ),
      );
      await carol.expect((element) => element.attrs.id === 'b3');
    });
    // (Carol's login may still be fetching her offline messages: only the inbox counts here.)
    const inbox = commands.filter((entry) => entry.key === `${prefix}:v1:node:{cost1}:inbox`);
    expect(inbox.map((entry) => entry.command)).toEqual([expect.stringMatching(/^EVAL(SHA)?$/)]);
    // b3 came last: b1 and b2 were there before it.
    expect(carol.inbox.filter((element) => element.name === 'message').map((element) => element.attrs.id)).toEqual(['b1', 'b2']);
    await carol.close();
  });

  it('costs one Redis command per archive for an archived message: the append script, which also applies the preferences', async () => {
    const alice = await login(0, 'alice', 'arch-a');
    const bob = await login(0, 'bob', 'arch-b');
    alice.send("<message to='bob@localhost' type='chat' id='arch-warm'><body>warm</body></message>");
    await bob.expect((element) => element.attrs.id === 'arch-warm');
    const commands = await during(async () => {
      alice.send("<message to='bob@localhost' type='chat' id='arch'><body>archived twice</body></message>");
      await bob.expect((element) => element.attrs.id === 'arch');
    });
    expect(commands.map((entry) => `${entry.command} ${entry.key}`)).toEqual([
      expect.stringMatching(new RegExp(`^EVAL(SHA)? ${prefix}:v1:\\{alice@localhost\\}:mam$`)),
      expect.stringMatching(new RegExp(`^EVAL(SHA)? ${prefix}:v1:\\{bob@localhost\\}:mam$`)),
    ]);
    await alice.close();
    await bob.close();
  });

  it('costs one script (push-claim-2) for a message stored offline, to look for push registrations and claim the event', async () => {
    const alice = await login(0, 'alice', 'push-a');
    const commands = await during(async () => {
      alice.send("<message to='dave@localhost' type='chat' id='held'><body>for later</body><no-store xmlns='urn:xmpp:hints'/></message>");
      await alice.barrier();
    });
    expect(commands.filter((entry) => entry.key.includes(':push')).map((entry) => `${entry.command} ${entry.key}`)).toEqual([
      expect.stringMatching(new RegExp(`^EVAL(SHA)? ${prefix}:v1:\\{dave@localhost\\}:push$`)),
    ]);
    await alice.close();
  });

  it('costs one Redis command for a page of the archive, with or without a with filter', async () => {
    const alice = await login(0, 'alice', 'arch-q');
    for (const form of ['', "<x xmlns='jabber:x:data' type='submit'><field var='with'><value>bob@localhost</value></field></x>"]) {
      const commands = await during(async () => {
        const reply = await alice.iq('set', `<query xmlns='urn:xmpp:mam:2'>${form}<set xmlns='http://jabber.org/protocol/rsm'><max>50</max><before/></set></query>`);
        expect(reply.attrs.type).toBe('result');
      });
      // (What the login set going may still be under way, the offline fetch and the last PEP items
      // among it: only the archive's keys count here.)
      const archive = commands.filter((entry) => entry.key.startsWith(`${prefix}:v1:{alice@localhost}:mam`));
      expect(archive.map((entry) => `${entry.command} ${entry.key}`)).toEqual([expect.stringMatching(new RegExp(`^EVAL(SHA)? ${prefix}:v1:\\{alice@localhost\\}:mam$`))]);
    }
    await alice.close();
  });

  for (const archiving of [true, false]) {
    const what = archiving ? 'the room script, the archive append' : 'the room script';
    it(`costs ${what} and one bus envelope per node holding occupants for a groupchat message${archiving ? ' archived by the room' : ' in a room without archive'}, whatever the number of occupants`, async () => {
      const room = `cost-${archiving ? 'mam' : 'plain'}@conference.localhost`;
      const sender = await login(0, 'alice', `room-sender-${archiving}`);
      const enter = async (raw: RawClient, nick: string): Promise<void> => {
        raw.send(`<presence to='${room}/${nick}'><x xmlns='http://jabber.org/protocol/muc'/></presence>`);
        await raw.expect((element) => element.name === 'message' && element.getChild('subject') !== undefined);
      };
      await enter(sender, 'sender');
      const field = `<field var='muc#roomconfig_enablearchiving'><value>${archiving ? '1' : '0'}</value></field>`;
      await sender.iq('set', `<query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'>${field}</x></query>`, room);
      const occupants: RawClient[] = [];
      const message = async (id: string): Promise<Captured[]> => during(async () => {
        sender.send(`<message to='${room}' type='groupchat' id='${id}'><body>x</body></message>`);
        for (const raw of [sender, ...occupants]) await raw.expect((element) => element.attrs.id === id);
      });
      const add = async (count: number): Promise<void> => {
        for (let i = 0; i < count; i += 1) {
          const user = ['bob', 'carol'][occupants.length % 2] as string;
          const raw = await login(1, user, `room-${archiving}-${occupants.length}`);
          await enter(raw, `${user}-${occupants.length}`);
          occupants.push(raw);
        }
      };
      await add(2);
      await message(`warm-room-${archiving}`);
      const few = await message(`room-few-${archiving}`);
      await add(6);
      const more = await message(`room-more-${archiving}`);
      const described = (commands: Captured[]) => commands.map((entry) => `${entry.command} ${entry.key}`);
      // room-message-4 (sender checked, history appended, recipients and the record's token read),
      // archive-append-7 on the room's archive (same hash tag) when archiving, one envelope to cost1.
      expect(described(few)).toEqual([
        expect.stringMatching(new RegExp(`^EVAL(SHA)? ${prefix}:v1:room:\\{${room}\\}:state$`)),
        ...(archiving ? [expect.stringMatching(new RegExp(`^EVAL(SHA)? ${prefix}:v1:\\{${room}\\}:mam$`))] : []),
        expect.stringMatching(new RegExp(`^(XADD|EVAL|EVALSHA) ${prefix}:v1:node:\\{cost1\\}:inbox$`)),
      ]);
      expect(described(more)).toEqual(described(few));
      for (const raw of [sender, ...occupants]) await raw.close();
    });
  }

  it('costs a small constant plus one XADD per other node holding recipients to publish a PEP item to six contacts', async () => {
    const node = 'urn:test:cost';
    const publisher = await login(0, 'pub', 'p');
    publisher.jid = 'pub@localhost/p';
    // Contacts alternate over the two nodes: three beside the publisher, three on the other node.
    const contacts: RawClient[] = [];
    for (const [index, name] of CONTACTS.entries()) {
      const contact = await login(index % 2, name, 'r');
      contact.jid = `${name}@localhost/r`;
      await befriend(publisher, contact);
      await announce(contact, [node]);
      contacts.push(contact);
    }
    // Warm the node-local caches (session records, caps) once, as earlier traffic would.
    await publisher.iq('set', publishXml(node, 'warm', "<x xmlns='urn:test'/>"));
    for (const contact of contacts) await contact.expect((element) => eventItems(element, node)?.getChild('item')?.attrs.id === 'warm');
    const commands = await during(async () => {
      const reply = await publisher.iq('set', publishXml(node, 'counted', "<x xmlns='urn:test'/>"));
      expect(reply.attrs.type).toBe('result');
      for (const contact of contacts) await contact.expect((element) => eventItems(element, node)?.getChild('item')?.attrs.id === 'counted');
    });
    const inbox = commands.filter((entry) => entry.key.includes(':node:{'));
    // One envelope for the three recipients on the other node; none for the publisher's own node.
    expect(inbox.map((entry) => `${entry.command} ${entry.key}`)).toEqual([`EVALSHA ${prefix}:v1:node:{cost1}:inbox`]);
    expect(commands.length - inbox.length).toBeLessThanOrEqual(PUBLISH_COMMANDS);
    for (const client of [publisher, ...contacts]) await client.close();
  });

  it('costs the same for a PEP publish that also goes to explicit subscribers (XEP-0060 §6.1): the script answers them', async () => {
    const node = 'urn:test:cost-subscribed';
    const publisher = await login(0, 'pub2', 'p');
    publisher.jid = 'pub2@localhost/p';
    const contacts: RawClient[] = [];
    for (const [index, name] of CONTACTS.slice(0, 4).entries()) {
      const contact = await login(index % 2, name, 's');
      contact.jid = `${name}@localhost/s`;
      await befriend(publisher, contact);
      await announce(contact, [node]);
      contacts.push(contact);
    }
    await publisher.iq('set', publishXml(node, 'warm', "<x xmlns='urn:test'/>", { 'pubsub#access_model': 'open', 'pubsub#send_last_published_item': 'never' }));
    for (const contact of contacts) await contact.expect((element) => eventItems(element, node)?.getChild('item')?.attrs.id === 'warm');
    // Two strangers without caps: one by full JID on the other node, one by bare JID beside the publisher.
    const far = await login(1, 'sub0', 'r');
    const near = await login(0, 'sub1', 'r');
    for (const [subscriber, jid] of [[far, 'sub0@localhost/r'], [near, 'sub1@localhost']] as const) {
      const reply = await subscriber.iq('set', `<pubsub xmlns='http://jabber.org/protocol/pubsub'><subscribe node='${node}' jid='${jid}'/></pubsub>`, 'pub2@localhost');
      expect(reply.attrs.type).toBe('result');
    }
    await publisher.iq('set', publishXml(node, 'warm2', "<x xmlns='urn:test'/>"));
    for (const client of [...contacts, far, near]) await client.expect((element) => eventItems(element, node)?.getChild('item')?.attrs.id === 'warm2');
    const commands = await during(async () => {
      const reply = await publisher.iq('set', publishXml(node, 'counted', "<x xmlns='urn:test'/>"));
      expect(reply.attrs.type).toBe('result');
      for (const client of [...contacts, far, near]) await client.expect((element) => eventItems(element, node)?.getChild('item')?.attrs.id === 'counted');
    });
    const inbox = commands.filter((entry) => entry.key.includes(':node:{'));
    expect(inbox.map((entry) => `${entry.command} ${entry.key}`)).toEqual([`EVALSHA ${prefix}:v1:node:{cost1}:inbox`]);
    expect(commands.length - inbox.length).toBeLessThanOrEqual(PUBLISH_COMMANDS);
    for (const client of [publisher, ...contacts, far, near]) await client.close();
  });
});
