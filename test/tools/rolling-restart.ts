// A rolling restart under load, on the local cluster (Redis, N nodes, HAProxy): clients with
// stream management (XEP-0198) exchange messages without pause while every node in turn is
// stopped with SIGTERM (it drains: its clients reconnect through HAProxy and resume on another
// node) and a replacement starts and becomes ready. Afterwards it counts what was sent and what
// was delivered (by message id), the duplicates, the losses, the resumptions, the unavailable
// presences contacts saw, and whether every client kept its full JID; and how long it took.
//
//   npm run rolling-restart -- --clients 1000 --nodes 3
//
// The same run, smaller, is the CI test test/rolling/rolling-restart.test.ts. Most clients are
// test/support/sm-client.ts (PLAIN over plain TCP, cheap enough for hundreds); a few are
// @xmpp/client with its own stream-management plugin (STARTTLS, SASL2 SCRAM with Bind2 at first,
// then a FAST token with an inline resume after each drain: XEP-0484, XEP-0388). What a
// reconnection costs each kind (time until the resumed session can send, requests after TLS) is
// in the report (reconnect-figures.ts).
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { client as xmppClient, type Client as XmppClient, xml } from '@xmpp/client';
import type { Element } from 'ltx';
import { deriveCredentials } from '../../src/sasl/credentials.js';
import type { StateBackend } from '../../src/state/backend.js';
import { befriendInStore, SmClient } from '../support/sm-client.js';
import { type LocalCluster, startLocalCluster, waitFor } from '../../tools/local-cluster.js';
import { createRedisBackend } from '../../cluster/redis/index.js';
import { formatSummary, type Reconnection, type ReconnectSummary, summarize, watchXmpp } from './reconnect-figures.js';

export interface RollingRestartOptions {
  /** Clients in all, in pairs (an odd one out is dropped). */
  clients: number;
  /** How many of them are @xmpp/client (each paired with a RawClient-based one). */
  xmppClients: number;
  nodes: number;
  /** Each client sends its partner a message this often (ms). */
  intervalMs: number;
  /** Logins in flight at once. */
  loginConcurrency: number;
  /** ROOKERY_DRAIN_TIMEOUT_SECONDS of the nodes. */
  drainTimeoutSeconds: number;
  /** After the restart, how long every message gets to arrive (ms). */
  settleTimeoutMs: number;
  /** Extra node environment. */
  env?: Record<string, string>;
  /** @xmpp/client's wait before it reconnects (ms); its own default (1 s) when undefined. */
  xmppReconnectDelayMs?: number;
  log?: (line: string) => void;
}

export interface NodeRestart {
  node: string;
  /** SIGTERM until the process exited: the drain. */
  stopMs: number;
  /** Spawn until ready and seen up by HAProxy. */
  startMs: number;
}

export interface RollingRestartReport {
  clients: number;
  xmppClients: number;
  nodes: number;
  /** Pairs whose two clients were on different nodes when the restart began. */
  crossNodePairs: number;
  sent: number;
  /** Distinct message ids received by the right client. */
  delivered: number;
  /** Receptions beyond the first of an id. */
  duplicates: number;
  /** Ids sent and never received. */
  lost: number;
  bounced: number;
  misdelivered: number;
  /** Successful resumptions, all clients (and the @xmpp/client ones alone). */
  resumes: number;
  /** Clients that resumed at least once (each one's node was restarted, so all of them should have). */
  clientsResumed: number;
  xmppResumes: number;
  /** @xmpp/client clients that resumed at least once. */
  xmppClientsResumed: number;
  failedResumes: number;
  /** Unavailable presences from any of the clients' JIDs seen by any client during the run. */
  unavailableSeen: number;
  /** Clients whose full JID, or resumption id, is not the one they started with, or that are not online at the end. */
  jidChanged: number;
  notOnline: number;
  /** From the first SIGTERM until the last replacement was up. */
  restartMs: number;
  /** From the first SIGTERM until every client was online again after the last one. */
  recoveredMs: number;
  /** The longest a client was without a connection, and which client that was. */
  maxOfflineMs: number;
  slowestClient: string;
  /** Per kind of client: legacy SASL PLAIN + stream restart + <resume/>, and @xmpp/client (SASL2, FAST, inline resume). */
  legacyReconnects: ReconnectSummary;
  xmppReconnects: ReconnectSummary;
  nodeRestarts: NodeRestart[];
  /** The first few problems seen, for a failure report. */
  problems: string[];
  totalMs: number;
}

export const DEFAULT_OPTIONS: RollingRestartOptions = {
  clients: 1000,
  xmppClients: 10,
  nodes: 3,
  // A thousand clients at one message a second each: the CI test's rate (200 clients, 200 ms).
  intervalMs: 1000,
  loginConcurrency: 50,
  drainTimeoutSeconds: 5,
  settleTimeoutMs: 30_000,
};

const PASSWORD = 'rolling-secret';
const MAX_PROBLEMS = 20;

/** One load client, whichever library drives it. */
interface LoadClient {
  readonly index: number;
  readonly kind: 'sm' | 'xmpp';
  /** The full JID and resumption id it started with. */
  jid: string;
  smId: string;
  online(): boolean;
  currentJid(): string | undefined;
  currentSmId(): string | undefined;
  resumes(): number;
  failedResumes(): number;
  /** What went wrong for it, if anything. */
  trouble(): string[];
  /** For a lost message: whether the server acknowledged it, and the client's resumptions (undefined: not known). */
  whereabouts?(id: string): string;
  offlineMs(): number;
  reconnections(): Reconnection[];
  /** Sends its initial presence. */
  available(): void;
  /**
   * Sends a chat; `sent` is called once the client library has it in hand, i.e. will deliver
   * it or send it again after resuming. A message the library refuses is not counted as sent.
   */
  send(to: string, id: string, sent: () => void): void;
  /** A round trip: everything the server sent before is here once it resolves. */
  barrier(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Runs it all: starts the local cluster (unless `reuse` brings one, which is then left running,
 * e.g. to look into Redis afterwards), the clients, the traffic and the restarts, and stops
 * everything it started. What goes wrong with the traffic (losses, duplicates, clients that do
 * not come back) ends up in the report; a cluster that cannot start or restart a node throws.
 */
export async function runRollingRestart(options: RollingRestartOptions, reuse?: { cluster: LocalCluster }): Promise<RollingRestartReport> {
  const log = options.log ?? (() => {});
  const began = Date.now();
  const problems: string[] = [];
  const problem = (text: string): void => {
    if (problems.length < MAX_PROBLEMS) problems.push(text);
  };
  const count = options.clients - (options.clients % 2);
  const cluster =
    reuse?.cluster ??
    (await startLocalCluster({
      nodes: options.nodes,
      port: 0,
      redisPort: 0,
      nodeBasePort: 0,
      domain: 'localhost',
      output: 'capture',
      check: { intervalMs: 200, fall: 2, rise: 1 },
      log,
      env: {
        ROOKERY_ALLOW_PLAINTEXT_AUTH: 'true',
        ROOKERY_DRAIN_TIMEOUT_SECONDS: String(options.drainTimeoutSeconds),
        ROOKERY_LOG_LEVEL: 'warn',
        // Liveness stays at the defaults (heartbeat every 2 s, dead after 10 s) unless the caller
        // shortens it: a rolling restart needs no dead-node detection (the drain hands everything
        // over), and a node declared dead while merely slow under load would disrupt the run.
        ...options.env,
      },
    }));
  const state = await createRedisBackend({ url: cluster.redisUrl, prefix: cluster.prefix });
  const clients: LoadClient[] = [];
  const timers: NodeJS.Timeout[] = [];
  try {
    // Accounts straight in Redis (one password, derived once).
    const local = (index: number): string => `load${index}`;
    const bare = (index: number): string => `${local(index)}@${cluster.domain}`;
    const credentials = await deriveCredentials(PASSWORD);
    for (let start = 0; start < count; start += 100) {
      await Promise.all(Array.from({ length: Math.min(100, count - start) }, (_, offset) => state.accounts.create(bare(start + offset), credentials)));
    }
    log(`${count} accounts created`);

    // What the clients see. Partners are chosen once everyone is logged in (see below).
    const partners: number[] = [];
    const partner = (index: number): number => partners[index] ?? -1;
    const jids = new Set<string>();
    const partnerSeen = new Set<number>();
    const receptions = new Map<string, number>();
    const sentIds: string[] = [];
    const sentAt = new Map<string, string>();
    let recording = false;
    let unavailableSeen = 0;
    let bounced = 0;
    let misdelivered = 0;
    const onStanza = (receiver: number, stanza: Element): void => {
      if (stanza.name === 'message') {
        const id = String(stanza.attrs.id ?? '');
        if (stanza.attrs.type === 'error') {
          bounced += 1;
          problem(`client ${receiver} got a bounce: ${stanza.toString().slice(0, 300)}`);
          return;
        }
        const sender = Number(id.split('.')[0]);
        if (!Number.isInteger(sender) || partner(sender) !== receiver) {
          misdelivered += 1;
          problem(`client ${receiver} got a message meant for another: ${id}`);
          return;
        }
        receptions.set(id, (receptions.get(id) ?? 0) + 1);
        return;
      }
      if (stanza.name !== 'presence') return;
      const from = String(stanza.attrs.from ?? '');
      if (stanza.attrs.type === 'unavailable') {
        if (recording && (jids.has(from) || jids.has(from.split('/')[0] as string))) {
          unavailableSeen += 1;
          problem(`client ${receiver} saw ${from} go unavailable: ${stanza.toString().slice(0, 300)}`);
        }
        return;
      }
      if (stanza.attrs.type === undefined && partner(receiver) >= 0 && from.startsWith(`${bare(partner(receiver))}/`)) partnerSeen.add(receiver);
    };

    // The @xmpp/client ones are spread over the run (every tenth client or so).
    const xmppEvery = options.xmppClients > 0 ? Math.max(1, Math.floor(count / options.xmppClients)) : Number.POSITIVE_INFINITY;
    const isXmpp = (index: number): boolean => index % xmppEvery === 0 && index / xmppEvery < options.xmppClients;
    const login = async (index: number): Promise<LoadClient> =>
      isXmpp(index)
        ? loginXmpp(index, cluster, local(index), (stanza) => onStanza(index, stanza), problem, options.xmppReconnectDelayMs)
        : loginSm(index, cluster, local(index), (stanza) => onStanza(index, stanza));
    const loginStarted = Date.now();
    for (let start = 0; start < count; start += options.loginConcurrency) {
      const batch = await Promise.all(Array.from({ length: Math.min(options.loginConcurrency, count - start) }, (_, offset) => login(start + offset)));
      clients.push(...batch);
    }
    for (const client of clients) jids.add(client.jid);
    log(`${clients.length} clients logged in through HAProxy in ${Date.now() - loginStarted} ms`);

    // Pairs across nodes wherever the balancer allows: each client of the node with the most
    // unpaired clients goes with one of the node with the next most. An @xmpp/client one is
    // paired first, with a RawClient-based one.
    const placement = new Map<string, string>();
    for await (const record of state.registry.all()) placement.set(record.full_jid, record.node);
    const nodeOf = (client: LoadClient): string => placement.get(client.jid) ?? '?';
    const unpaired = new Map<string, LoadClient[]>();
    for (const client of clients) unpaired.set(nodeOf(client), [...(unpaired.get(nodeOf(client)) ?? []), client]);
    const take = (group: LoadClient[], prefer: (client: LoadClient) => boolean): LoadClient => {
      const at = Math.max(0, group.findIndex(prefer));
      return group.splice(at, 1)[0] as LoadClient;
    };
    for (;;) {
      const groups = [...unpaired.values()].filter((group) => group.length > 0).sort((a, b) => b.length - a.length);
      const first = groups[0];
      if (!first) break;
      const second = groups[1] ?? first;
      const a = take(first, (client) => client.kind === 'xmpp');
      const b = take(second, (client) => client.kind === 'sm');
      partners[a.index] = b.index;
      partners[b.index] = a.index;
    }
    let crossNodePairs = 0;
    for (const client of clients) {
      const other = clients[partner(client.index)] as LoadClient;
      if (client.index < other.index) {
        await befriendInStore(state, bare(client.index), bare(other.index));
        if (nodeOf(client) !== nodeOf(other)) crossNodePairs += 1;
      }
    }
    for (const client of clients) client.available();
    await waitFor(() => partnerSeen.size === clients.length, 30_000, 'every client seeing its partner available');
    log(`every client sees its partner; ${crossNodePairs} of ${clients.length / 2} pairs span two nodes`);

    // Messages without pause, each client at its own phase.
    recording = true;
    let sending = true;
    const sequence = new Array<number>(clients.length).fill(0);
    for (const client of clients) {
      const tick = (): void => {
        if (!sending) return;
        const target = clients[partner(client.index)] as LoadClient;
        const id = `${client.index}.${++sequence[client.index]!}`;
        client.send(target.jid, id, () => {
          sentIds.push(id);
          sentAt.set(id, new Date().toISOString().slice(11, 23));
        });
      };
      const phase = setTimeout(() => {
        tick();
        timers.push(setInterval(tick, options.intervalMs));
      }, Math.floor(Math.random() * options.intervalMs));
      timers.push(phase);
    }

    // Warm-up, then every node in turn.
    await waitFor(() => sentIds.length >= clients.length * 2, 30_000, 'messages flowing');
    const restartStarted = Date.now();
    const nodeRestarts: NodeRestart[] = [];
    for (let index = 0; index < cluster.nodes.length; index++) {
      const node = cluster.nodes[index] as { id: string };
      log(`restarting ${node.id}: SIGTERM`);
      const stopMs = await cluster.stopNode(index);
      const spawned = Date.now();
      await cluster.startNode(index);
      nodeRestarts.push({ node: node.id, stopMs, startMs: Date.now() - spawned });
      log(`${node.id}: drained and exited in ${stopMs} ms, replacement up in ${Date.now() - spawned} ms`);
    }
    const restartMs = Date.now() - restartStarted;
    await waitFor(() => clients.every((client) => client.online()), 60_000, 'every client online again').catch((error: unknown) => problem(String(error)));
    const recoveredMs = Date.now() - restartStarted;
    log(`rolling restart done in ${restartMs} ms; every client online after ${recoveredMs} ms`);

    // A little more traffic on the new nodes, then silence, and every message must arrive.
    const sentAtRestartEnd = sentIds.length;
    await waitFor(() => sentIds.length >= sentAtRestartEnd + clients.length, 30_000, 'messages flowing after the restart').catch((error: unknown) => problem(String(error)));
    sending = false;
    for (const timer of timers) clearTimeout(timer);
    await waitFor(() => sentIds.every((id) => receptions.has(id)), options.settleTimeoutMs, 'every message delivered').catch((error: unknown) => problem(String(error)));
    // A round trip per client: anything still on its way (a late duplicate) is in by then.
    await Promise.all(clients.map((client) => client.barrier().catch((error: unknown) => problem(`barrier of client ${client.index}: ${String(error)}`))));
    recording = false;

    let delivered = 0;
    let duplicates = 0;
    let lost = 0;
    for (const id of sentIds) {
      const times = receptions.get(id) ?? 0;
      if (times === 0) {
        lost += 1;
        const sender = clients[Number(id.split('.')[0])] as LoadClient;
        const receiver = clients[partner(sender.index)] as LoadClient;
        problem(`lost: ${id} (${sender.jid} on ${placement.get(sender.jid)} to ${receiver.jid} on ${placement.get(receiver.jid)} at the start; sent at ${sentAt.get(id) ?? '?'}; ${sender.whereabouts?.(id) ?? ''})`);
      } else {
        delivered += 1;
        duplicates += times - 1;
        if (times > 1) problem(`delivered ${times} times: ${id}`);
      }
    }
    let jidChanged = 0;
    let notOnline = 0;
    for (const client of clients) {
      for (const text of client.trouble().slice(0, 3)) problem(`client ${client.index} (${client.kind}): ${text}`);
      if (!client.online()) {
        notOnline += 1;
        problem(`client ${client.index} (${client.kind}) is not online at the end`);
      }
      const record = await state.registry.get(client.jid);
      if (client.currentJid() !== client.jid || client.currentSmId() !== client.smId || record?.sm_token !== client.smId) {
        jidChanged += 1;
        problem(`client ${client.index} (${client.kind}) started as ${client.jid} (${client.smId}), is ${client.currentJid()} (${client.currentSmId()}), registry: ${JSON.stringify(record)}`);
      }
    }
    const xmpp = clients.filter((client) => client.kind === 'xmpp');
    const slowest = clients.reduce<LoadClient | undefined>((worst, client) => (!worst || client.offlineMs() > worst.offlineMs() ? client : worst), undefined);
    const report: RollingRestartReport = {
      clients: clients.length,
      xmppClients: xmpp.length,
      nodes: cluster.nodes.length,
      crossNodePairs,
      sent: sentIds.length,
      delivered,
      duplicates,
      lost,
      bounced,
      misdelivered,
      resumes: clients.reduce((sum, client) => sum + client.resumes(), 0),
      clientsResumed: clients.filter((client) => client.resumes() > 0).length,
      xmppResumes: xmpp.reduce((sum, client) => sum + client.resumes(), 0),
      xmppClientsResumed: xmpp.filter((client) => client.resumes() > 0).length,
      failedResumes: clients.reduce((sum, client) => sum + client.failedResumes(), 0),
      unavailableSeen,
      jidChanged,
      notOnline,
      restartMs,
      recoveredMs,
      maxOfflineMs: slowest ? slowest.offlineMs() : 0,
      slowestClient: slowest ? `${slowest.jid} (${slowest.kind})` : '',
      legacyReconnects: summarize(clients.filter((client) => client.kind === 'sm').flatMap((client) => client.reconnections())),
      xmppReconnects: summarize(xmpp.flatMap((client) => client.reconnections())),
      nodeRestarts,
      problems,
      totalMs: Date.now() - began,
    };
    if (problems.length > 0 && !reuse) problems.push(`cluster output (tail):\n${cluster.output().slice(-20_000)}`);
    return report;
  } finally {
    for (const timer of timers) clearTimeout(timer);
    await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
    await state.close();
    if (!reuse) await cluster.stop();
  }
}

async function loginSm(index: number, cluster: LocalCluster, local: string, onStanza: (stanza: Element) => void): Promise<LoadClient> {
  const reconnections: Reconnection[] = [];
  const client = await SmClient.login({
    port: cluster.port,
    domain: cluster.domain,
    username: local,
    password: PASSWORD,
    resource: `r${index}`,
    plaintext: true,
    keep: false,
    autoResume: true,
    resumeDeadlineMs: 60_000,
    onStanza: (stanza) => onStanza(stanza),
    // Plain TCP: after the stream header, PLAIN, the stream restart and <resume/> each wait for an answer.
    onResumed: (ms) => void reconnections.push({ ms, requests: 3, mechanism: 'PLAIN' }),
  });
  let offlineMs = 0;
  return {
    index,
    kind: 'sm',
    jid: client.jid as string,
    smId: client.smId as string,
    online: () => client.state === 'online',
    currentJid: () => client.jid,
    currentSmId: () => client.smId,
    resumes: () => client.resumes,
    failedResumes: () => client.failures.length + (client.state === 'failed' ? 1 : 0),
    trouble: () => [...client.failures.map((failure) => `<failed/>: ${failure.toString()}`), ...client.errors],
    whereabouts: (id) => `${client.unacknowledged(`id='${id}'`) ? 'never acknowledged' : 'acknowledged'} by the server; the sender resumed ${client.resumes} times, last at ${new Date(client.resumedAt).toISOString().slice(11, 23)}`,
    offlineMs: () => {
      if (client.resumedAt >= client.lostAt) offlineMs = Math.max(offlineMs, client.resumedAt - client.lostAt);
      return offlineMs;
    },
    reconnections: () => reconnections,
    available: () => client.send('<presence/>'),
    send(to, id, sent) {
      if (client.state === 'failed' || client.state === 'closed') return;
      // Kept until the server acknowledges it, and sent again after resuming.
      client.message(to, `message ${id}`, id);
      sent();
    },
    barrier: () => client.barrier(15_000),
    close: () => client.close(),
  };
}

async function loginXmpp(index: number, cluster: LocalCluster, local: string, onStanza: (stanza: Element) => void, problem: (text: string) => void, reconnectDelayMs?: number): Promise<LoadClient> {
  // The cluster's certificate is self-signed.
  process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
  const entity: XmppClient = xmppClient({ service: `xmpp://127.0.0.1:${cluster.port}`, domain: cluster.domain, username: local, password: PASSWORD, resource: `r${index}` });
  if (reconnectDelayMs !== undefined) entity.reconnect.delay = reconnectDelayMs;
  const reconnections = watchXmpp(entity);
  let resumes = 0;
  let lostAt = 0;
  let offlineMs = 0;
  entity.on('error', (error: Error) => problem(`@xmpp/client ${index}: ${error.message}`));
  entity.on('stanza', (stanza: Element) => onStanza(stanza));
  entity.on('disconnect', () => {
    if (lostAt === 0) lostAt = Date.now();
  });
  entity.streamManagement.on('resumed', () => {
    resumes += 1;
    if (lostAt > 0) offlineMs = Math.max(offlineMs, Date.now() - lostAt);
    lostAt = 0;
  });
  entity.iqCallee.set('jabber:iq:roster', 'query', () => true);
  await entity.start();
  await waitFor(() => entity.streamManagement.enabled && entity.streamManagement.id !== '', 10_000, `@xmpp/client ${index} enabling stream management`);
  const jid = entity.jid?.toString() as string;
  const smId = entity.streamManagement.id;
  return {
    index,
    kind: 'xmpp',
    jid,
    smId,
    online: () => entity.status === 'online' && entity.streamManagement.enabled,
    currentJid: () => entity.jid?.toString(),
    currentSmId: () => entity.streamManagement.id,
    resumes: () => resumes,
    failedResumes: () => (entity.streamManagement.id !== smId ? 1 : 0),
    trouble: () => (entity.streamManagement.id !== smId ? [`resumption id changed from ${smId} to ${entity.streamManagement.id}`] : []),
    offlineMs: () => offlineMs,
    reconnections: () => reconnections,
    available: () => void entity.send(xml('presence')).catch((error: Error) => problem(`@xmpp/client ${index}: ${error.message}`)),
    send(to, id, sent) {
      // Offline, the library would not queue it: this tick sends nothing.
      if (entity.status !== 'online' || !entity.streamManagement.enabled) return;
      // The library queues a stanza for resending only once it was written: a write that fails
      // (the node closed the connection a moment ago) is reported to us instead, and not counted.
      entity.send(xml('message', { to, type: 'chat', id }, xml('body', {}, `message ${id}`))).then(sent, () => undefined);
    },
    async barrier() {
      await entity.iqCaller.request(xml('iq', { type: 'get', to: cluster.domain }, xml('ping', { xmlns: 'urn:xmpp:ping' })), 15_000);
    },
    async close() {
      entity.reconnect.stop();
      await entity.stop().catch(() => undefined);
    },
  };
}

/** The figures, one per line. */
export function formatReport(report: RollingRestartReport): string {
  const lines = [
    `clients            ${report.clients} (${report.xmppClients} @xmpp/client), ${report.crossNodePairs} of ${report.clients / 2} pairs across nodes`,
    `nodes              ${report.nodes}`,
    `sent               ${report.sent}`,
    `delivered          ${report.delivered}`,
    `duplicates         ${report.duplicates}`,
    `lost               ${report.lost}`,
    `bounced            ${report.bounced}`,
    `resumes            ${report.resumes}, by ${report.clientsResumed} of ${report.clients} clients (@xmpp/client: ${report.xmppResumes}, by ${report.xmppClientsResumed} of ${report.xmppClients}); failed ${report.failedResumes}`,
    `unavailable seen   ${report.unavailableSeen}`,
    `full JID changed   ${report.jidChanged}; not online at the end ${report.notOnline}`,
    `longest offline    ${report.maxOfflineMs} ms (${report.slowestClient})`,
    `legacy reconnects  ${formatSummary(report.legacyReconnects)}`,
    `@xmpp/client       ${formatSummary(report.xmppReconnects)}`,
    ...report.nodeRestarts.map((restart) => `${restart.node.padEnd(18)} drained and exited in ${restart.stopMs} ms, replacement up in ${restart.startMs} ms`),
    `rolling restart    ${report.restartMs} ms (every client online again after ${report.recoveredMs} ms)`,
    `whole run          ${report.totalMs} ms`,
  ];
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      clients: { type: 'string', default: String(DEFAULT_OPTIONS.clients) },
      'xmpp-clients': { type: 'string', default: String(DEFAULT_OPTIONS.xmppClients) },
      nodes: { type: 'string', default: String(DEFAULT_OPTIONS.nodes) },
      interval: { type: 'string', default: String(DEFAULT_OPTIONS.intervalMs) },
      'drain-timeout': { type: 'string', default: String(DEFAULT_OPTIONS.drainTimeoutSeconds) },
      concurrency: { type: 'string', default: String(DEFAULT_OPTIONS.loginConcurrency) },
      json: { type: 'boolean', default: false },
      'xmpp-reconnect-delay': { type: 'string' },
    },
  });
  const report = await runRollingRestart({
    ...DEFAULT_OPTIONS,
    clients: Number(values.clients),
    xmppClients: Number(values['xmpp-clients']),
    nodes: Number(values.nodes),
    intervalMs: Number(values.interval),
    drainTimeoutSeconds: Number(values['drain-timeout']),
    loginConcurrency: Number(values.concurrency),
    ...(values['xmpp-reconnect-delay'] !== undefined ? { xmppReconnectDelayMs: Number(values['xmpp-reconnect-delay']) } : {}),
    log: (line) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${line}`),
  });
  console.log(values.json ? JSON.stringify(report, null, 2) : formatReport(report));
  const clean = report.lost === 0 && report.duplicates === 0 && report.unavailableSeen === 0 && report.jidChanged === 0 && report.failedResumes === 0;
  if (!clean) console.error(report.problems.join('\n'));
  process.exit(clean ? 0 : 1);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  });
}
