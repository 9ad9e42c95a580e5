// Chaos: a Redis, three nodes and a population of mutually subscribed clients exchanging chat
// messages without pause, while in turn Redis is killed and restarted empty, a node is killed
// with kill -9, a node is frozen (SIGSTOP) past the dead-after bound and resumed, and a client
// stops reading while others flood it. After each: every message a server confirmed handling was
// delivered, stored offline or bounced (counted, none twice); the registry holds exactly the live
// streams, each on its node; every client sees its contacts as they are; memory came back down.
// The run's log (seed, events, a ledger after each phase, memory) goes to .tmp/reports/chaos.txt,
// printed with the nodes' output when a test fails.
import type { Element } from 'ltx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLUSTER_PASSWORD, DEAD_AFTER_MS, eventually, startCluster, type TestCluster } from '../support/cluster.js';
import { type RawClient, xml } from '../support/client.js';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';
import { printReportOnFailure, testReport } from '../support/report.js';
import { type Entry, Ledger } from './ledger.js';
import { Peer, RESOURCE, seededRandom, Traffic } from './peers.js';
import { memoryOf, metrics, MiB, sample, socketBufferBound, type Memory } from './probes.js';
import { SlowReader } from './slow-reader.js';

const NS_ROSTER = 'jabber:iq:roster';
const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';
/** Accounts in the population, placed round-robin over the three nodes. */
const POPULATION = 18;
/** With the test cluster's liveness settings a dead node is cleaned up well within this (15 s with the defaults). */
const CLEANUP_BOUND_MS = 15_000;
/** The server's outbound buffer bound for one client in this cluster. */
const MAX_OUTBOUND_BYTES = 64 * 1024;
/** After its stream error, the server gives a peer this long to close before it drops the socket (connection.ts). */
const CLOSE_TIMEOUT_MS = 5_000;
/** Memory a node may keep above its baseline after a phase (Node's RSS hardly shrinks). */
const MEMORY_SLACK = 64 * MiB;
const seed = Number(process.env.CHAOS_SEED ?? Date.now() % 2 ** 31);

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const isRosterPush = (element: Element): boolean => element.name === 'iq' && element.attrs.type === 'set' && element.getChild('query', NS_ROSTER) !== undefined;

describe.sequential('chaos: Redis, three nodes and clients under faults', () => {
  let redis: RedisServerHandle;
  let cluster: TestCluster;
  const ledger = new Ledger();
  const random = seededRandom(seed);
  const peers: Peer[] = [];
  /** Mutual subscriptions, by local part. */
  const contacts = new Map<string, Set<string>>();
  const pairs: Array<[Peer, Peer]> = [];
  let traffic: Traffic;
  const baseline = new Map<number, Memory>();
  /** Duplicates already reported by an earlier phase's check. */
  const reported = new Set<string>();
  /** Duplicates a phase left to a test of their own. */
  const deferred: string[] = [];
  /** Start of the run; times in reports are relative to it. */
  let started = Date.now();
  const events: string[] = [];

  const report = testReport('chaos');
  printReportOnFailure(report, () => `[chaos] seed ${seed}\n${ledger.table()}\n${events.join('\n')}\n${cluster?.output() ?? ''}`);

  const log = (text: string): void => {
    events.push(`${Date.now() - started} ms: ${text}`);
    report.log(`[chaos ${ledger.phase}] ${text}`);
  };
  const peer = (local: string): Peer => peers.find((candidate) => candidate.local === local) as Peer;

  beforeAll(async () => {
    redis = await startRedisServer();
    cluster = await startCluster({
      nodes: 3,
      redisUrl: redis.url,
      env: {
        ROOKERY_LIMIT_MAX_OUTBOUND_BYTES: String(MAX_OUTBOUND_BYTES),
        // The flood of the last phase comes faster than a client's usual byte budget.
        ROOKERY_LIMIT_C2S_BYTES_PER_SECOND: '0',
      },
    });
    report.log(`[chaos] seed ${seed} (CHAOS_SEED=${seed} replays the same choices)`);
    for (let i = 0; i < POPULATION; i++) {
      const local = `u${String(i).padStart(2, '0')}`;
      peers.push(new Peer(local, cluster.domain, ledger));
      contacts.set(local, new Set());
    }
    // Groups of three, one member on each node; and same-node pairs across groups.
    const befriendPairs: Array<[number, number]> = [];
    for (let g = 0; g < POPULATION / 3; g++) befriendPairs.push([3 * g, 3 * g + 1], [3 * g + 1, 3 * g + 2], [3 * g, 3 * g + 2]);
    for (let i = 0; i + 3 < POPULATION; i += 6) befriendPairs.push([i, i + 3]);
    for (const [a, b] of befriendPairs) {
      const pa = peers[a] as Peer;
      const pb = peers[b] as Peer;
      pairs.push([pa, pb]);
      contacts.get(pa.local)?.add(pb.local);
      contacts.get(pb.local)?.add(pa.local);
    }
    await restoreAccounts();
    await Promise.all(peers.map(async (p, i) => {
      p.setup = true;
      await p.login(cluster, i % 3);
    }));
    for (const [a, b] of pairs) await befriend(a, b);
    for (const p of peers) {
      p.setup = false;
      p.client?.clear();
    }
    traffic = new Traffic(peers, random);
    started = Date.now();
  }, 120_000);

  afterAll(async () => {
    traffic?.stop();
    try {
      await cluster?.stopAll();
    } finally {
      await redis?.stop();
    }
  });

  /** Accounts (and the slow reader's), as at the start or as an operator restores them from a backup. */
  async function restoreAccounts(): Promise<void> {
    for (const p of peers) await cluster.createUser(p.local);
    await cluster.createUser('slow');
  }

  /** Every mutual subscription written back into the store, as a backup restore would. */
  async function restoreRosters(): Promise<void> {
    const item = (jid: string) => ({ item: { jid, groups: [], subscription: 'both' as const, ask: false, approved: false } });
    for (const [a, b] of pairs) {
      await cluster.state.rosters.compareAndSet(a.bare, b.bare, {}, item(b.bare));
      await cluster.state.rosters.compareAndSet(b.bare, a.bare, {}, item(a.bare));
    }
  }

  /** Mutual subscription through the protocol, waiting on each side for what the handshake ends with. */
  async function befriend(a: Peer, b: Peer): Promise<void> {
    const ca = a.client as RawClient;
    const cb = b.client as RawClient;
    for (const [watcher, target, wc, tc] of [[a, b, ca, cb], [b, a, cb, ca]] as const) {
      wc.send(`<presence to='${target.bare}' type='subscribe'/>`);
      await tc.expect(xml`<presence from='${watcher.bare}' type='subscribe'/>`);
      tc.send(`<presence to='${watcher.bare}' type='subscribed'/>`);
      await wc.expect(xml`<presence from='${target.full}'/>`);
    }
    const both = (element: Element): boolean => isRosterPush(element) && element.getChild('query', NS_ROSTER)?.getChild('item')?.attrs.subscription === 'both';
    await ca.expect(both);
    await cb.expect(both);
  }

  /** Stops the traffic and waits until what was confirmed has come out somewhere (taking the offline stores). */
  async function quiesce(): Promise<void> {
    traffic.stop();
    await eventually('every online client has its pings answered', () => peers.every((p) => !p.online || p.outstanding === 0), 20_000);
    const started = Date.now();
    for (;;) {
      await takeOfflineStores();
      if (ledger.pending() === 0 || Date.now() - started > 15_000) break;
      await delay(200);
    }
  }

  async function takeOfflineStores(): Promise<void> {
    for (const local of [...peers.map((p) => p.local), 'slow']) {
      for (const message of await cluster.state.offline.takeAll(`${local}@${cluster.domain}`)) ledger.stored(message.xml);
    }
  }

  /** The registry: exactly the online streams, each on the node its socket is on, each available. */
  function ghosts(records: Array<{ full_jid: string; node: string; presence?: string }>): { expected: Record<string, string>; actual: Record<string, string>; unavailable: string[] } {
    const expected: Record<string, string> = {};
    for (const p of peers) if (p.online) expected[p.full] = cluster.node(p.node).id;
    const actual: Record<string, string> = {};
    for (const record of records) actual[record.full_jid] = record.node;
    const unavailable = records.filter((record) => record.presence === undefined).map((record) => record.full_jid);
    return { expected, actual, unavailable };
  }

  /** For every online client and contact: the contact's resources it sees available are exactly the online one. */
  function presenceProblems(): string[] {
    const problems: string[] = [];
    for (const watcher of peers) {
      if (!watcher.online) continue;
      for (const local of contacts.get(watcher.local) ?? []) {
        const contact = peer(local);
        const expected = contact.online ? [contact.full] : [];
        const seen = watcher.sees(contact).sort();
        if (JSON.stringify(seen) !== JSON.stringify(expected)) problems.push(`${watcher.full} sees ${JSON.stringify(seen)} of ${contact.local}, expected ${JSON.stringify(expected)}`);
      }
    }
    return problems;
  }

  async function memories(): Promise<Map<number, Memory>> {
    const found = new Map<number, Memory>();
    for (let i = 0; i < cluster.size; i++) {
      const node = cluster.node(i);
      if (node.running && !node.frozen) found.set(i, await memoryOf(node.httpPort));
    }
    return found;
  }

  /** The invariants after a phase; traffic is stopped first and started again by the next phase. */
  /**
   * `ownDuplicates: 'deferred'`: this phase's duplicates are asserted by a test of their own
   * (collected in `deferred`), so that the phase's other invariants still get checked.
   */
  async function checkInvariants(phase: string, options: { ownDuplicates?: 'deferred' } = {}): Promise<void> {
    await quiesce();
    report.log(`[chaos ${phase}] ledger after the phase:\n${ledger.table()}`);
    expect(peers.filter((p) => !p.online).map((p) => p.local)).toEqual([]);
    const tally = ledger.tally(phase);
    expect(tally.sent).toBeGreaterThan(0);
    const detail = (entry: Entry): string => ledger.describe(entry, started);
    expect(ledger.unaccounted(phase).map(detail)).toEqual([]);
    // Any phase's message may turn up twice later on: each duplicate fails the check that first sees it.
    let duplicates = ledger.duplicated().filter((entry) => !reported.has(entry.id));
    for (const entry of duplicates) reported.add(entry.id);
    if (options.ownDuplicates === 'deferred') {
      deferred.push(...duplicates.filter((entry) => entry.phase === phase).map(detail));
      duplicates = duplicates.filter((entry) => entry.phase !== phase);
    }
    expect(duplicates.map(detail)).toEqual([]);
    expect(tally.misrouted).toBe(0);

    let registry = ghosts(await cluster.sessions());
    await eventually('the registry holds exactly the online streams, each available', async () => {
      registry = ghosts(await cluster.sessions());
      return sameRecords(registry.actual, registry.expected) && registry.unavailable.length === 0;
    }, 10_000).catch(() => undefined);
    expect(registry.actual).toEqual(registry.expected);
    expect(registry.unavailable).toEqual([]);

    await eventually('every client sees its contacts as they are', () => presenceProblems().length === 0, 10_000).catch(() => undefined);
    expect(presenceProblems()).toEqual([]);

    const now = await memories();
    const lines: string[] = [];
    for (const [index, memory] of now) {
      const base = baseline.get(index);
      if (!base) continue;
      lines.push(`n${index}: rss ${(memory.rss / MiB).toFixed(1)} MiB (baseline ${(base.rss / MiB).toFixed(1)}), heap ${(memory.heapUsed / MiB).toFixed(1)} MiB (baseline ${(base.heapUsed / MiB).toFixed(1)})`);
    }
    if (lines.length > 0) report.log(`[chaos ${phase}] memory: ${lines.join('; ')}`);
    for (const [index, memory] of now) {
      const base = baseline.get(index);
      if (!base) continue;
      expect(memory.rss, `node ${index} RSS`).toBeLessThan(base.rss + MEMORY_SLACK);
      expect(memory.heapUsed, `node ${index} heap`).toBeLessThan(base.heapUsed + MEMORY_SLACK);
    }
  }

  /** Drop counts now, to compare with at the end of a phase. */
  function drops(): Map<string, number> {
    return new Map(peers.map((p) => [p.local, p.drops]));
  }

  /** Which clients lost their stream since `before`, other than by logging out. */
  function droppedSince(before: Map<string, number>): string[] {
    return peers.filter((p) => p.drops !== before.get(p.local)).map((p) => p.local).sort();
  }

  /** A phase starts from every node running and every client online; an earlier failure may have left it otherwise. */
  function requireHealthyStart(): void {
    const down = [0, 1, 2].filter((i) => !cluster.node(i).running || cluster.node(i).frozen);
    const offline = peers.filter((p) => !p.online).map((p) => p.local);
    if (down.length > 0 || offline.length > 0) throw new Error(`cannot start: nodes down ${JSON.stringify(down)}, clients offline ${JSON.stringify(offline)}`);
  }

  it('carries steady traffic with every message accounted for', async () => {
    ledger.phase = 'steady';
    const before = drops();
    traffic.start();
    await delay(2_000);
    await checkInvariants('steady');
    expect(droppedSince(before)).toEqual([]);
    for (const [index, memory] of await memories()) baseline.set(index, memory);
    log(`baseline memory: ${[...baseline].map(([i, m]) => `n${i} rss ${(m.rss / MiB).toFixed(1)} MiB, heap ${(m.heapUsed / MiB).toFixed(1)} MiB`).join('; ')}`);
  }, 60_000);

  it('survives Redis killed and restarted empty: held stanzas are sent or bounced, sessions written back', async () => {
    requireHealthyStart();
    ledger.phase = 'redis';
    const before = drops();
    traffic.start();
    await delay(1_000);
    const inFlight = ledger.markInFlight();
    await redis.kill();
    log(`Redis killed with ${inFlight} messages in flight`);

    // Logins are refused at once with a temporary error (RFC 6120 §6.5.9).
    const late = await cluster.connect(0);
    await late.openStream();
    await late.startTls();
    await late.openStream();
    const outcome = await late.authPlain((peers[0] as Peer).local, CLUSTER_PASSWORD);
    expect(outcome.name).toBe('failure');
    expect(outcome.getChild('temporary-auth-failure', NS_SASL)).toBeDefined();
    late.destroy();

    await delay(3_000);
    const pending = await Promise.all([0, 1, 2].map(async (i) => sample(await metrics(cluster.node(i).httpPort), 'rookery_bus_pending_envelopes')));
    log(`stanzas held for other nodes: ${pending.join(', ')}`);
    redis = await startRedisServer({ port: redis.port });
    log('Redis restarted empty; restoring accounts and rosters');
    await restoreAccounts();
    await restoreRosters();
    await eventually('every node wrote its sessions back', async () => {
      const records = await cluster.sessions().catch(() => []);
      return records.length === peers.filter((p) => p.online).length;
    }, 15_000);
    await delay(2_000);
    await checkInvariants('redis');
    // No node lost its clients on the way (a node declared dead meanwhile would have closed them).
    expect(droppedSince(before)).toEqual([]);
    for (let i = 0; i < 3; i++) {
      const text = await metrics(cluster.node(i).httpPort);
      expect(sample(text, 'rookery_state_restores_total'), `node ${i} restores`).toBeGreaterThanOrEqual(1);
      expect(sample(text, 'rookery_sessions_reasserted_total{outcome="written"}'), `node ${i} sessions written back`).toBeGreaterThanOrEqual(1);
      expect(sample(text, 'rookery_bus_pending_envelopes'), `node ${i} held stanzas`).toBe(0);
    }
  }, 90_000);

  it('survives kill -9 of a node: contacts see its clients go, messages for them are stored, they log in elsewhere', async () => {
    requireHealthyStart();
    ledger.phase = 'kill -9';
    const before = drops();
    traffic.start();
    await delay(1_000);
    const victims = peers.filter((p) => p.online && p.node === 2);
    expect(victims.length).toBe(POPULATION / 3);
    const deadId = cluster.node(2).id;
    const killedAt = Date.now();
    await cluster.kill(2, 'SIGKILL');
    log('node 2 killed');
    await eventually('the killed node’s clients see their sockets close', () => victims.every((p) => !p.online), 5_000);
    await eventually('contacts see the killed node’s clients unavailable', () => presenceProblems().length === 0, CLEANUP_BOUND_MS);
    const noticed = Date.now() - killedAt;
    log(`contacts saw ${victims.length} clients go unavailable ${noticed} ms after kill -9`);
    expect(noticed).toBeLessThanOrEqual(CLEANUP_BOUND_MS);
    expect((await cluster.sessions()).filter((record) => record.node === deadId)).toEqual([]);

    // They come back on the other nodes and get what was stored for them meanwhile.
    await Promise.all(victims.map((p, i) => p.login(cluster, i % 2)));
    const stored = victims.reduce((sum, p) => sum + [...ledger.entries.values()].filter((entry) => entry.toLocal === p.local && entry.fromOffline > 0).length, 0);
    log(`the killed node’s clients got ${stored} messages from offline storage`);
    expect(stored).toBeGreaterThan(0);

    // A replacement under the same id; its clients move back to it.
    await cluster.start(2);
    await Promise.all(victims.map((p) => p.logout()));
    await eventually('contacts see the moving clients log out', () => presenceProblems().length === 0, 10_000);
    await Promise.all(victims.map((p) => p.login(cluster, 2)));
    await delay(1_000);
    await checkInvariants('kill -9');
    expect(droppedSince(before)).toEqual(victims.map((p) => p.local).sort());
  }, 90_000);

  it('survives a node frozen past the dead-after bound: its sessions are swept, and once resumed it closes their streams', async () => {
    requireHealthyStart();
    ledger.phase = 'SIGSTOP';
    const before = drops();
    traffic.start();
    await delay(1_000);
    const victims = peers.filter((p) => p.online && p.node === 1);
    expect(victims.length).toBe(POPULATION / 3);
    const frozenId = cluster.node(1).id;
    const frozenAt = Date.now();
    cluster.freeze(1);
    // At least one message lands in the frozen node's inbox while it is stopped (traffic aside).
    const probe = (peers[0] as Peer).sendMessage(victims[0] as Peer, false);
    void (peers[0] as Peer).ping();
    log(`node 1 frozen; ${probe} sent to ${(victims[0] as Peer).full}`);
    const offline = new Set(victims.map((p) => p.local));
    await eventually('contacts see the frozen node’s clients unavailable', () => {
      for (const watcher of peers) {
        if (!watcher.online || offline.has(watcher.local)) continue;
        for (const local of contacts.get(watcher.local) ?? []) if (offline.has(local) && watcher.sees(peer(local)).length > 0) return false;
      }
      return true;
    }, CLEANUP_BOUND_MS);
    const noticed = Date.now() - frozenAt;
    log(`contacts saw ${victims.length} clients go unavailable ${noticed} ms after SIGSTOP`);
    expect(noticed).toBeGreaterThanOrEqual(DEAD_AFTER_MS - 500);
    expect((await cluster.sessions()).filter((record) => record.node === frozenId)).toEqual([]);

    cluster.thaw(1);
    log('node 1 resumed');
    for (const p of victims) {
      const client = p.client as RawClient;
      await client.expect('stream:error', CLEANUP_BOUND_MS);
      await client.closed(CLEANUP_BOUND_MS);
    }
    log('the resumed node closed its stale streams');
    await Promise.all(victims.map((p) => p.login(cluster, 1)));
    await delay(1_000);
    await checkInvariants('SIGSTOP', { ownDuplicates: 'deferred' });
    expect(droppedSince(before)).toEqual(victims.map((p) => p.local).sort());
  }, 90_000);

  it('delivers each message for a frozen node’s clients once: the resumed node does not hand on what the sweep already stored', () => {
    // A stanza in the frozen node's inbox is re-routed by the sweep (to offline storage); the
    // node, resumed, must not also write it to the stale stream it has not closed yet.
    expect(ledger.tally('SIGSTOP').sent).toBeGreaterThan(0);
    expect(deferred).toEqual([]);
  });

  it('disconnects a client that stops reading once its buffer bound is passed, keeping what it never read', async () => {
    requireHealthyStart();
    ledger.phase = 'slow reader';
    const before = drops();
    traffic.start();
    const slow = await SlowReader.login(cluster.node(0).c2sPort, cluster.domain, 'slow', CLUSTER_PASSWORD, RESOURCE);
    const target = { local: 'slow', bare: `slow@${cluster.domain}`, full: `slow@${cluster.domain}/${RESOURCE}`, node: 0 };
    const errorsBefore = sample(await metrics(cluster.node(0).httpPort), 'rookery_stream_errors_total{condition="policy-violation"}');
    slow.pause();

    // Four senders on all three nodes, 16 KiB messages: far more than the socket buffers hold.
    const bound = socketBufferBound();
    const body = 'x'.repeat(16 * 1024);
    const flooders = [peers[1], peers[4], peers[2], peers[0]] as Peer[];
    const perFlooder = Math.ceil((1.6 * (bound + MAX_OUTBOUND_BYTES)) / body.length / flooders.length);
    let peak: Memory | undefined;
    const watch = (async () => {
      await eventually('the server ends the slow reader’s session', async () => {
        const memory = await memoryOf(cluster.node(0).httpPort);
        if (!peak || memory.rss > peak.rss) peak = memory;
        return (await cluster.state.registry.get(target.full)) === undefined;
      }, 30_000, 100);
      // It reads again, within the server's close timeout: what the TCP buffers held, then the stream error.
      slow.resume();
    })();
    await Promise.all(flooders.map(async (flooder) => {
      for (let i = 0; i < perFlooder; i++) {
        flooder.sendMessage(target, false, body);
        if (i % 10 === 9) await flooder.roundTrip(20_000);
      }
      await flooder.roundTrip(20_000);
    }));
    await watch;
    const sentBytes = flooders.length * perFlooder * body.length;
    log(`flooded ${sentBytes} bytes; the session ended; node 0 peaked at rss ${((peak?.rss ?? 0) / MiB).toFixed(1)} MiB`);
    const errorsAfter = sample(await metrics(cluster.node(0).httpPort), 'rookery_stream_errors_total{condition="policy-violation"}');
    expect(errorsAfter - errorsBefore).toBe(1);

    expect(await slow.closed(CLOSE_TIMEOUT_MS + 10_000)).toBe(true);
    let buffered = 0;
    for (const element of slow.received) if (element.name === 'message' && ledger.buffered(element)) buffered += 1;
    log(`the slow reader found ${buffered} messages (${slow.bytesAfterResume} bytes) left in the TCP buffers; bound ${bound} bytes; stream error: ${slow.streamError() ?? 'none'}`);
    expect(slow.bytesAfterResume).toBeLessThanOrEqual(bound + MAX_OUTBOUND_BYTES);
    expect(sentBytes).toBeGreaterThan(bound + MAX_OUTBOUND_BYTES);
    expect(slow.streamError()).toBe('policy-violation');

    await checkInvariants('slow reader');
    expect(droppedSince(before)).toEqual([]);
    const tally = ledger.tally('slow reader');
    expect(tally.stored + tally.fromOffline).toBeGreaterThan(0);
  }, 120_000);
});

function sameRecords(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key]);
}
