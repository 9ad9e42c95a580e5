// The workloads, driven from the orchestrator: each one hands jobs to the generator processes,
// samples the server's CPU and memory from /proc around the measured interval, and returns figures.
import { execFileSync, spawn } from 'node:child_process';
import { Histogram, summarize, type LatencySummary } from './lib/hist.js';
import { type GeneratorPool, slice } from './lib/pool.js';
import { sleep, sumCpu, sumRss } from './lib/proc.js';
import type { LoginResult, MessagesResult, PresenceResult } from './lib/protocol.js';
import type { Mechanism } from './lib/sasl.js';
import type { RunningServer } from './servers/types.js';

export interface Params {
  password: string;
  idleSessions: number;
  idleConcurrency: number;
  loginClients: number;
  loginConcurrency: number;
  /** A login workload starts no new login after this long (slow servers do fewer than loginClients). */
  loginMaxMs: number;
  tlsLoginClients: number;
  pairs: number;
  window: number;
  bodyBytes: number;
  warmupMs: number;
  durationMs: number;
  drainMs: number;
  presenceContacts: number;
  presenceRounds: number;
  generators: number;
  /** HTTP upload: file sizes in bytes, files of each size, uploads in flight (one account per lane). */
  uploadSizes: number[];
  uploadFiles: number[];
  uploadConcurrency: number;
}

export const FULL: Params = {
  password: 'bench-password',
  idleSessions: 10_000,
  idleConcurrency: 100,
  loginClients: 4000,
  loginConcurrency: 50,
  loginMaxMs: 30_000,
  tlsLoginClients: 1500,
  pairs: 500,
  window: 2,
  bodyBytes: 64,
  warmupMs: 3000,
  durationMs: 20_000,
  drainMs: 10_000,
  presenceContacts: 1000,
  presenceRounds: 50,
  generators: 1,
  uploadSizes: [64 * 1024, 1024 * 1024, 16 * 1024 * 1024],
  uploadFiles: [400, 100, 12],
  uploadConcurrency: 4,
};

export const QUICK: Params = {
  ...FULL,
  idleSessions: 500,
  loginClients: 300,
  tlsLoginClients: 100,
  pairs: 50,
  warmupMs: 1000,
  durationMs: 4000,
  drainMs: 5000,
  presenceContacts: 100,
  presenceRounds: 10,
  uploadFiles: [100, 25, 3],
};

export type WorkloadName =
  | 'idle' | 'login-scram' | 'login-plain' | 'messages' | 'presence' | 'pep' | 'tls-login' | 'tls-resume-login' | 'tls-messages' | 'cross-node'
  /** Rookery only: idle and messages over XMPP-over-WebSocket (RFC 7395), and XEP-0363 upload through one node. */
  | 'ws-idle' | 'ws-messages' | 'upload';

export interface Figure {
  workload: WorkloadName;
  /** Server label and configuration. */
  server: string;
  kind: RunningServer['kind'];
  config: string;
  ok: boolean;
  error?: string;
  /** Named numbers (see report.ts for units). */
  values: Record<string, number>;
  latency?: LatencySummary;
  /** Second latency figure (presence: every delivery). */
  latency2?: LatencySummary;
  /** Server CPU over the measured interval, % of one core (all its processes/threads). */
  serverCpu: number;
  /** Load-generator CPU over the measured interval, % of one core (all generator processes). */
  generatorCpu: number;
  helperCpu?: Record<string, number>;
  redis?: RedisFigures;
  wallMs: number;
  notes: string[];
}

export interface RedisFigures {
  /** INFO commandstats: every command Redis ran, those inside Lua scripts included. */
  commandsPerMessage: number;
  /** Net of the background rate measured with no traffic. */
  netCommandsPerMessage: number;
  backgroundPerSecond: number;
  /**
   * Commands clients sent (round trips; a script is one, as cluster/README.md counts), from a
   * MONITOR sample of 2 s taken right before the measured window, net of the background measured
   * the same way, per message at the measured rate.
   */
  netRoundTripsPerMessage?: number;
  roundTripsPerMessage?: number;
  backgroundRoundTripsPerSecond?: number;
  sampleMs?: number;
  /** Commands clients sent in the sample, by name. */
  sampleTop?: Array<[string, number]>;
  top: Array<[string, number]>;
}

export function accountNames(params: Params): { users: string[]; hub: string; contacts: string[] } {
  const count = Math.max(params.idleSessions, params.loginClients, params.tlsLoginClients, 2 * params.pairs);
  return {
    users: Array.from({ length: count }, (_, i) => `u${i + 1}`),
    hub: 'phub',
    contacts: Array.from({ length: params.presenceContacts }, (_, i) => `pc${i + 1}`),
  };
}

function percentOfCore(cpuSeconds: number, wallMs: number): number {
  return wallMs > 0 ? (cpuSeconds * 1000 * 100) / wallMs : 0;
}

function helperCpu(server: RunningServer): Array<{ name: string; pid: number; start: number }> {
  return server.helperPids().map((helper) => ({ ...helper, start: sumCpu([helper.pid]) }));
}

function helperPercent(started: Array<{ name: string; pid: number; start: number }>, wallMs: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const helper of started) out[helper.name] = percentOfCore(sumCpu([helper.pid]) - helper.start, wallMs);
  return out;
}

// --- idle --------------------------------------------------------------------------------

/** Accounts each generator has logged in with SCRAM once (its key cache holds their salt). */
export type WarmAccounts = Set<string>;

export async function idle(
  server: RunningServer,
  pool: GeneratorPool,
  params: Params,
  users: string[],
  warm: WarmAccounts,
  options: { workload: 'idle' | 'ws-idle'; webSocket: boolean } = { workload: 'idle', webSocket: false },
): Promise<Figure> {
  const n = Math.min(params.idleSessions, users.length);
  const accounts = users.slice(0, n);
  await sleep(2000);
  const rssBefore = sumRss(server.pids());
  const cpu0 = sumCpu(server.pids());
  const t0 = Date.now();
  const results = await pool.all<LoginResult>((g) => ({
    op: 'login',
    job: {
      targets: [server.targets[0]!],
      users: slice(accounts, g, pool.size),
      password: params.password,
      mechanism: 'SCRAM-SHA-1',
      starttls: false,
      resource: 'idle',
      concurrency: Math.ceil(params.idleConcurrency / pool.size),
      group: 'idle',
      timeoutMs: 30_000,
      maxMs: 0,
      ...(options.webSocket ? { webSocket: true } : {}),
    },
  }));
  const rampMs = Date.now() - t0;
  const rampCpu = sumCpu(server.pids()) - cpu0;
  for (const account of accounts) warm.add(account);
  await sleep(5000);
  const rssAfter = sumRss(server.pids());
  const ok = results.reduce((sum, r) => sum + r.ok, 0);
  const failed = results.reduce((sum, r) => sum + r.failed, 0);
  const closes = await pool.all<{ closed: number; lostBefore: number }>({ op: 'close', group: 'idle' });
  const dropped = closes.reduce((sum, c) => sum + c.lostBefore, 0);
  const generatorCpuMs = results.reduce((sum, r) => sum + r.cpuMs, 0);
  await sleep(1000);
  return {
    workload: options.workload,
    server: server.label,
    kind: server.kind,
    config: server.config,
    ok: failed === 0 && dropped === 0,
    ...(failed > 0 ? { error: `${failed} logins failed: ${results.flatMap((r) => r.errors).slice(0, 3).join('; ')}` } : {}),
    values: {
      sessions: ok,
      failed,
      dropped,
      rssBeforeMiB: rssBefore / 2 ** 20,
      rssAfterMiB: rssAfter / 2 ** 20,
      kibPerSession: ok > 0 ? (rssAfter - rssBefore) / 1024 / ok : Number.NaN,
      rampLoginsPerSecond: (ok * 1000) / rampMs,
      derivations: results.reduce((sum, r) => sum + r.derivations, 0),
    },
    serverCpu: percentOfCore(rampCpu, rampMs),
    generatorCpu: percentOfCore(generatorCpuMs / 1000, rampMs),
    wallMs: rampMs,
    notes: [],
  };
}

// --- login -------------------------------------------------------------------------------

export async function login(
  server: RunningServer,
  pool: GeneratorPool,
  params: Params,
  users: string[],
  /** resumeTls: each client resumes the TLS session (ticket) of its previous login, which runs first, unmeasured. */
  options: { workload: WorkloadName; mechanism: Mechanism; starttls: boolean; resumeTls?: boolean; clients: number },
  warm: WarmAccounts,
): Promise<Figure> {
  const accounts = users.slice(0, Math.min(options.clients, users.length));
  const cold = accounts.filter((account) => !warm.has(account));
  if (options.mechanism === 'SCRAM-SHA-1' && cold.length > 0) {
    // Not measured: the first login of an account costs the client a PBKDF2 (RFC 5802 clients cache it).
    await pool.all<LoginResult>((g) => ({
      op: 'login',
      job: {
        targets: server.targets,
        users: slice(accounts, g, pool.size).filter((account) => !warm.has(account)),
        password: params.password,
        mechanism: 'SCRAM-SHA-1',
        starttls: false,
        resource: 'warmup',
        concurrency: Math.ceil(params.idleConcurrency / pool.size),
        group: 'warmup',
        timeoutMs: 30_000,
        maxMs: 0,
      },
    }));
    await pool.all({ op: 'close', group: 'warmup' });
    for (const account of cold) warm.add(account);
    await sleep(1000);
  }
  if (options.resumeTls) {
    // Not measured: the previous connection of each client, which leaves it a ticket.
    await pool.all<LoginResult>((g) => ({
      op: 'login',
      job: {
        targets: server.targets,
        users: slice(accounts, g, pool.size),
        password: params.password,
        mechanism: options.mechanism,
        starttls: true,
        resource: 'previous',
        concurrency: Math.ceil(params.loginConcurrency / pool.size),
        group: 'previous',
        timeoutMs: 30_000,
        maxMs: params.loginMaxMs,
      },
    }));
    await pool.all({ op: 'close', group: 'previous' });
    await sleep(1000);
  }
  const helpers = helperCpu(server);
  const cpu0 = sumCpu(server.pids());
  const t0 = Date.now();
  const results = await pool.all<LoginResult>((g) => ({
    op: 'login',
    job: {
      // Several nodes: the clients are spread over them.
      targets: server.targets,
      users: slice(accounts, g, pool.size),
      password: params.password,
      mechanism: options.mechanism,
      starttls: options.starttls,
      resource: 'login',
      concurrency: Math.ceil(params.loginConcurrency / pool.size),
      group: options.workload,
      timeoutMs: 30_000,
      maxMs: params.loginMaxMs,
      ...(options.resumeTls ? { resumeTls: true } : {}),
    },
  }));
  const wallMs = Date.now() - t0;
  const serverCpu = percentOfCore(sumCpu(server.pids()) - cpu0, wallMs);
  const helper = helperPercent(helpers, wallMs);
  await pool.all({ op: 'close', group: options.workload });
  await sleep(1000);
  const hist = new Histogram();
  for (const result of results) hist.merge(result.hist);
  const ok = results.reduce((sum, r) => sum + r.ok, 0);
  const failed = results.reduce((sum, r) => sum + r.failed, 0);
  const derivations = results.reduce((sum, r) => sum + r.derivations, 0);
  return {
    workload: options.workload,
    server: server.label,
    kind: server.kind,
    config: server.config,
    ok: failed === 0,
    ...(failed > 0 ? { error: `${failed} logins failed: ${results.flatMap((r) => r.errors).slice(0, 3).join('; ')}` } : {}),
    values: {
      logins: ok, failed, loginsPerSecond: (ok * 1000) / wallMs, concurrency: params.loginConcurrency, derivations, attempted: accounts.length,
      ...(options.starttls ? { tlsResumedShare: results.reduce((sum, r) => sum + r.tlsResumed, 0) / Math.max(1, results.reduce((sum, r) => sum + r.tlsHandshakes, 0)) } : {}),
    },
    latency: summarize(hist),
    serverCpu,
    generatorCpu: percentOfCore(results.reduce((sum, r) => sum + r.cpuMs, 0) / 1000, wallMs),
    ...(Object.keys(helper).length ? { helperCpu: helper } : {}),
    wallMs,
    notes: [
      ...(derivations > 0 ? [`${derivations} SCRAM key derivations (PBKDF2) ran in the generator during the measurement`] : []),
      ...(ok + failed < accounts.length ? [`stopped after ${(params.loginMaxMs / 1000).toFixed(0)} s with ${ok + failed} of ${accounts.length} logins done`] : []),
    ],
  };
}

/** Waits (up to 20 s) until the server's processes use less than a tenth of a core: the previous workload's clean-up is over. */
export async function settle(server: RunningServer): Promise<number> {
  const t0 = Date.now();
  for (let i = 0; i < 40; i++) {
    const cpu = sumCpu(server.pids());
    await sleep(500);
    if (sumCpu(server.pids()) - cpu < 0.05) break;
  }
  return Date.now() - t0;
}

// --- messages ----------------------------------------------------------------------------

function commandStats(port: number): Map<string, number> {
  const text = execFileSync('redis-cli', ['-p', String(port), 'INFO', 'commandstats']).toString();
  const stats = new Map<string, number>();
  for (const match of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) stats.set(match[1]!, Number(match[2]));
  return stats;
}

function commandDelta(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const delta = new Map<string, number>();
  for (const [command, calls] of after) {
    const diff = calls - (before.get(command) ?? 0) - (command === 'info' ? 1 : 0);
    if (diff > 0) delta.set(command, diff);
  }
  return delta;
}

const total = (stats: Map<string, number>): number => [...stats.values()].reduce((sum, value) => sum + value, 0);

interface MonitorSample {
  ms: number;
  /** Commands sent by clients (a script counts once, as its EVALSHA/EVAL). */
  client: number;
  /** Commands scripts ran. */
  script: number;
  byCommand: Map<string, number>;
}

/**
 * Watches Redis with MONITOR (redis-cli) for `ms`: MONITOR tells the commands clients sent from
 * those Lua scripts ran ("[0 lua]"), which INFO commandstats adds up together.
 */
async function monitorSample(port: number, ms: number): Promise<MonitorSample> {
  const child = spawn('redis-cli', ['-p', String(port), 'monitor'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const sample: MonitorSample = { ms: 0, client: 0, script: 0, byCommand: new Map() };
  let started = 0;
  let partial = '';
  child.stdout.setEncoding('latin1');
  child.stdout.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (started === 0) {
        if (line.startsWith('OK')) started = Date.now();
        continue;
      }
      // 1764146400.123456 [0 127.0.0.1:54321] "xadd" "key" …   or   … [0 lua] "xadd" …
      const close = line.indexOf('] "');
      if (close < 0) continue;
      if (line.slice(line.indexOf('[') + 1, close).endsWith(' lua')) {
        sample.script += 1;
        continue;
      }
      sample.client += 1;
      const name = line.slice(close + 3, line.indexOf('"', close + 3)).toLowerCase();
      sample.byCommand.set(name, (sample.byCommand.get(name) ?? 0) + 1);
    }
  });
  const deadline = Date.now() + 5000;
  while (started === 0 && Date.now() < deadline) await sleep(20);
  if (started === 0) {
    child.kill();
    throw new Error('redis-cli monitor did not start');
  }
  await sleep(ms);
  sample.ms = Date.now() - started;
  child.kill();
  return sample;
}

export async function messages(
  server: RunningServer,
  pool: GeneratorPool,
  params: Params,
  users: string[],
  options: { workload: WorkloadName; starttls: boolean; crossNode: boolean; webSocket?: boolean },
): Promise<Figure> {
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i < params.pairs && 2 * i + 1 < users.length; i++) pairs.push([users[2 * i]!, users[2 * i + 1]!]);
  // Same node: each pair on one node (spread over the nodes there are); cross-node: A on node 1, B on node 2.
  const targetsA = options.crossNode ? [server.targets[0]!] : server.targets;
  const targetsB = options.crossNode ? server.targets.slice(1, 2) : server.targets;
  if (targetsB.length === 0) throw new Error('cross-node messages need two nodes');
  const setups = await pool.all<{ ok: number; failed: number; errors: string[] }>((g) => ({
    op: 'messages-setup',
    job: {
      targetsA,
      targetsB,
      pairs: slice(pairs, g, pool.size),
      password: params.password,
      mechanism: 'SCRAM-SHA-1',
      starttls: options.starttls,
      window: params.window,
      bodyBytes: params.bodyBytes,
      concurrency: Math.ceil(params.idleConcurrency / pool.size),
      timeoutMs: 30_000,
      ...(options.webSocket ? { webSocket: true } : {}),
    },
  }));
  const failed = setups.reduce((sum, s) => sum + s.failed, 0);
  if (failed > 0) throw new Error(`${failed} logins failed during set-up: ${setups.flatMap((s) => s.errors).slice(0, 3).join('; ')}`);
  await sleep(1000);
  // Redis: the background command rate (heartbeats, sweeps) with no traffic, then the measured window.
  let background = 0;
  let backgroundSample: MonitorSample | undefined;
  if (server.redisPort) {
    const a = commandStats(server.redisPort);
    const t = Date.now();
    backgroundSample = await monitorSample(server.redisPort, 3000);
    background = (total(commandDelta(a, commandStats(server.redisPort))) * 1000) / (Date.now() - t);
  }
  await pool.all({ op: 'messages-start' });
  await sleep(params.warmupMs);
  // Round trips: a MONITOR sample after the warm-up, before (and outside) the measured window.
  const trafficSample = server.redisPort ? await monitorSample(server.redisPort, 2000) : undefined;
  const redisBefore = server.redisPort ? commandStats(server.redisPort) : undefined;
  const helpers = helperCpu(server);
  const cpu0 = sumCpu(server.pids());
  const t0 = Date.now();
  await pool.all({ op: 'messages-mark' });
  await sleep(params.durationMs);
  const cpu1 = sumCpu(server.pids());
  const wallMs = Date.now() - t0;
  const helper = helperPercent(helpers, wallMs);
  const redisAfter = server.redisPort ? commandStats(server.redisPort) : undefined;
  const results = await pool.all<MessagesResult>({ op: 'messages-stop', drainMs: params.drainMs });
  await pool.all({ op: 'messages-close' });
  await sleep(1000);
  const hist = new Histogram();
  for (const result of results) hist.merge(result.hist);
  const sum = (key: keyof MessagesResult): number => results.reduce((acc, r) => acc + (r[key] as number), 0);
  const delivered = sum('delivered');
  const windowMs = Math.max(...results.map((r) => r.windowMs));
  const lost = sum('lost');
  const errors = sum('errors');
  let redis: RedisFigures | undefined;
  if (redisBefore && redisAfter) {
    const delta = commandDelta(redisBefore, redisAfter);
    const commands = total(delta);
    const perMessage = delivered > 0 ? commands / delivered : Number.NaN;
    redis = {
      commandsPerMessage: perMessage,
      netCommandsPerMessage: delivered > 0 ? Math.max(0, commands - (background * wallMs) / 1000) / delivered : Number.NaN,
      backgroundPerSecond: background,
      top: [...delta.entries()].sort((x, y) => y[1] - x[1]).slice(0, 6),
    };
    if (trafficSample && backgroundSample && delivered > 0) {
      // The messages of the sample, at the rate of the measured window.
      const sampled = ((delivered * 1000) / windowMs) * (trafficSample.ms / 1000);
      const backgroundRate = (backgroundSample.client * 1000) / backgroundSample.ms;
      redis.roundTripsPerMessage = trafficSample.client / sampled;
      redis.netRoundTripsPerMessage = Math.max(0, trafficSample.client - (backgroundRate * trafficSample.ms) / 1000) / sampled;
      redis.backgroundRoundTripsPerSecond = backgroundRate;
      redis.sampleMs = trafficSample.ms;
      redis.sampleTop = [...trafficSample.byCommand.entries()].sort((x, y) => y[1] - x[1]).slice(0, 6);
    }
  }
  return {
    workload: options.workload,
    server: server.label,
    kind: server.kind,
    config: server.config,
    ok: lost === 0 && errors === 0,
    ...(lost > 0 || errors > 0 ? { error: `${lost} messages lost, ${errors} error replies` } : {}),
    values: {
      pairs: pairs.length,
      window: params.window,
      messagesPerSecond: (delivered * 1000) / windowMs,
      delivered,
      sent: sum('sent'),
      received: sum('received'),
      lost,
      outOfOrder: sum('outOfOrder'),
      errors,
    },
    latency: summarize(hist),
    serverCpu: percentOfCore(cpu1 - cpu0, wallMs),
    generatorCpu: percentOfCore(sum('cpuMs') / 1000, windowMs),
    ...(Object.keys(helper).length ? { helperCpu: helper } : {}),
    ...(redis ? { redis } : {}),
    wallMs,
    notes: [],
  };
}

// --- presence ----------------------------------------------------------------------------

/**
 * Presence fan-out, or (`pep`) a PEP publish fanned out to the same contacts, whose clients
 * announce caps with +notify and are spread over the server's nodes (bench/pep.ts).
 */
export async function presence(server: RunningServer, pool: GeneratorPool, params: Params, hub: string, contacts: string[], workload: 'presence' | 'pep' = 'presence'): Promise<Figure> {
  const generator = pool.generators[0]!;
  if (server.createRosters) await server.createRosters(hub, contacts);
  const t0 = Date.now();
  const result = await generator.call<PresenceResult>({
    op: workload,
    job: {
      targets: workload === 'pep' ? server.targets : [server.targets[0]!],
      hub,
      contacts,
      password: params.password,
      mechanism: 'SCRAM-SHA-1',
      starttls: false,
      rounds: params.presenceRounds,
      concurrency: params.idleConcurrency,
      timeoutMs: 60_000,
      subscribe: server.createRosters === undefined,
      serverPids: server.pids(),
    },
  });
  const wallMs = Date.now() - t0;
  const serverCpu = percentOfCore(result.serverCpuSeconds, result.measureMs);
  await sleep(1000);
  const complete = Histogram.from(result.complete);
  const deliveries = Histogram.from(result.deliveries);
  return {
    workload,
    server: server.label,
    kind: server.kind,
    config: server.config,
    ok: result.missing === 0,
    ...(result.missing > 0 ? { error: `${result.missing} ${workload === 'pep' ? 'events' : 'broadcasts'} never arrived` } : {}),
    values: { contacts: result.contacts, rounds: result.rounds, missing: result.missing, setupMs: result.setupMs, subscribedOverXmpp: server.createRosters ? 0 : 1 },
    latency: summarize(complete),
    latency2: summarize(deliveries),
    serverCpu,
    generatorCpu: percentOfCore(result.cpuMs / 1000, result.measureMs),
    wallMs,
    notes: [],
  };
}
