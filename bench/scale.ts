// Many concurrent sessions on Redis: what a session costs in node memory and in Redis memory, how
// fast logins go while they are all connected, and a presence fan-out among them. The figures
// doc/scale.md projects from. One process may hold only as many sockets as the open-file limit
// allows (`ulimit -Hn`; 20 000 on the machine this was written on, which a container cannot raise),
// so the sessions are spread over as many nodes (and load-generator processes) as that requires.
//   node --import tsx bench/scale.ts [--sessions 100000] [--per-node 15000] [--extra 3000]
//                                    [--contacts 1000] [--rounds 20] [--json FILE]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Histogram, summarize } from './lib/hist.js';
import { GeneratorPool, slice } from './lib/pool.js';
import { commandOutput, cpuSeconds, hardFileLimit, loadAverage, machine, rssBytes, sleep } from './lib/proc.js';
import type { LoginResult, PresenceResult } from './lib/protocol.js';
import { startRookery } from './servers/rookery.js';
import type { RunningServer } from './servers/types.js';

const { values } = parseArgs({
  options: {
    sessions: { type: 'string', default: '100000' },
    'per-node': { type: 'string', default: '15000' },
    extra: { type: 'string', default: '3000' },
    contacts: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '20' },
    json: { type: 'string' },
  },
});
const SESSIONS = Number(values.sessions);
const PER_NODE = Number(values['per-node']);
const EXTRA = Number(values.extra);
const CONTACTS = Number(values.contacts);
const ROUNDS = Number(values.rounds);
const PASSWORD = 'bench-password';
const NODES = Math.max(1, Math.ceil(SESSIONS / PER_NODE));

const log = (line: string): void => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

function redisInfo(port: number, section: string): Map<string, string> {
  const text = commandOutput('redis-cli', ['-p', String(port), 'info', section]);
  return new Map(text.split(/\r?\n/).filter((line) => line.includes(':')).map((line) => line.split(':', 2) as [string, string]));
}

function redisCommands(port: number): number {
  let total = 0;
  for (const [name, value] of redisInfo(port, 'commandstats')) {
    if (name.startsWith('cmdstat_')) total += Number(/calls=(\d+)/.exec(value)?.[1] ?? 0);
  }
  return total;
}

const redisUsed = (port: number): number => Number(redisInfo(port, 'memory').get('used_memory') ?? 0);
const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);

/** Logs `users` in over every generator, client i of each to node i mod NODES; prints progress. */
async function logIn(pool: GeneratorPool, server: RunningServer, users: string[], group: string, concurrency: number): Promise<{ ok: number; failed: number; ms: number; hist: Histogram; errors: string[] }> {
  const started = Date.now();
  const ticker = setInterval(() => log(`  … ${group}: ${((Date.now() - started) / 1000).toFixed(0)} s`), 15_000);
  try {
    const results = await pool.all<LoginResult>((g) => ({
      op: 'login',
      job: {
        // Each generator starts at another node, so the nodes fill evenly.
        targets: server.targets.map((_, i) => server.targets[(i + g) % server.targets.length]!),
        users: slice(users, g, pool.size),
        password: PASSWORD,
        mechanism: 'SCRAM-SHA-1',
        starttls: false,
        resource: group,
        concurrency: Math.max(1, Math.ceil(concurrency / pool.size)),
        group,
        timeoutMs: 60_000,
        maxMs: 0,
      },
    }));
    const hist = new Histogram();
    for (const result of results) hist.merge(Histogram.from(result.hist));
    return {
      ok: results.reduce((sum, r) => sum + r.ok, 0),
      failed: results.reduce((sum, r) => sum + r.failed, 0),
      ms: Date.now() - started,
      hist,
      errors: results.flatMap((r) => r.errors).slice(0, 3),
    };
  } finally {
    clearInterval(ticker);
  }
}

async function main(): Promise<void> {
  const limit = hardFileLimit();
  if (PER_NODE + CONTACTS + 500 > limit) throw new Error(`--per-node ${PER_NODE} needs more open files than the limit ${limit}: pass a smaller --per-node`);
  const dir = mkdtempSync(join(tmpdir(), 'rookery-scale-'));
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '7', '-subj', '/CN=localhost'], { stdio: 'ignore' });
  log(`machine: ${machine()}; load ${loadAverage()}; open files ${limit}; ${SESSIONS} sessions over ${NODES} nodes and ${NODES} generators`);
  const server = await startRookery('cluster', { dir, certFile, keyFile, domain: 'localhost', log }, NODES);
  const pool = new GeneratorPool(NODES);
  const redisPort = server.redisPort!;
  try {
    const users = Array.from({ length: SESSIONS + EXTRA }, (_, i) => `s${i + 1}`);
    const contacts = Array.from({ length: CONTACTS }, (_, i) => `c${i + 1}`);
    log(`creating ${users.length + contacts.length + 1} accounts in Redis`);
    await server.createAccounts([...users, ...contacts, 'hub'], PASSWORD);
    await sleep(3000);
    const pids = server.pids();
    const rssBefore = pids.map(rssBytes);
    const redisBefore = redisUsed(redisPort);
    const cpuBefore = pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
    log(`before: node RSS ${rssBefore.map(mib).join(', ')} MiB; Redis ${mib(redisBefore)} MiB`);

    log(`logging ${SESSIONS} sessions in (SCRAM-SHA-1, 200 in flight)`);
    const ramp = await logIn(pool, server, users.slice(0, SESSIONS), 'idle', 200);
    const rampCpu = pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0) - cpuBefore;
    log(`ramp: ${ramp.ok} ok, ${ramp.failed} failed in ${(ramp.ms / 1000).toFixed(1)} s (${((ramp.ok * 1000) / ramp.ms).toFixed(0)}/s)${ramp.errors.length ? `; ${ramp.errors.join('; ')}` : ''}`);
    await sleep(5000);
    const rssAfter = pids.map(rssBytes);
    const redisAfter = redisUsed(redisPort);
    const keys = Number(/keys=(\d+)/.exec(redisInfo(redisPort, 'keyspace').get('db0') ?? '')?.[1] ?? 0);
    const rssDelta = rssAfter.reduce((sum, v) => sum + v, 0) - rssBefore.reduce((sum, v) => sum + v, 0);
    const perSessionRss = rssDelta / Math.max(1, ramp.ok);
    const perSessionRedis = (redisAfter - redisBefore) / Math.max(1, ramp.ok);
    log(`after: node RSS ${rssAfter.map(mib).join(', ')} MiB → ${(perSessionRss / 1024).toFixed(1)} KiB per session; Redis ${mib(redisAfter)} MiB → ${perSessionRedis.toFixed(0)} B per session`);

    const idleCommands0 = redisCommands(redisPort);
    await sleep(10_000);
    const idleCommandsPerSecond = (redisCommands(redisPort) - idleCommands0) / 10;
    log(`idle: ${idleCommandsPerSecond.toFixed(0)} Redis commands/s with ${ramp.ok} sessions connected and silent`);

    log(`${EXTRA} more logins while ${ramp.ok} are connected (50 in flight)`);
    const commands0 = redisCommands(redisPort);
    const extra = await logIn(pool, server, users.slice(SESSIONS), 'extra', 50);
    const commandsPerLogin = (redisCommands(redisPort) - commands0 - idleCommandsPerSecond * (extra.ms / 1000)) / Math.max(1, extra.ok);
    const extraLatency = summarize(extra.hist);
    log(`extra logins: ${((extra.ok * 1000) / extra.ms).toFixed(0)}/s, p50 ${extraLatency.p50.toFixed(1)} ms, p99 ${extraLatency.p99.toFixed(1)} ms, ${commandsPerLogin.toFixed(1)} Redis commands per login, ${extra.failed} failed`);

    log(`presence fan-out: one user, ${CONTACTS} contacts online (subscriptions made over XMPP), ${ROUNDS} changes`);
    const presence = await pool.generators[0]!.call<PresenceResult>({
      op: 'presence',
      job: {
        targets: [server.targets[0]!],
        hub: 'hub',
        contacts,
        password: PASSWORD,
        mechanism: 'SCRAM-SHA-1',
        starttls: false,
        rounds: ROUNDS,
        concurrency: 50,
        timeoutMs: 120_000,
        subscribe: true,
        serverPids: pids,
      },
    });
    const complete = summarize(Histogram.from(presence.complete));
    log(`presence: last contact reached p50 ${complete.p50.toFixed(1)} ms, p99 ${complete.p99.toFixed(1)} ms; ${presence.missing} missing`);

    const report = {
      date: new Date().toISOString(),
      machine: machine(),
      load: loadAverage(),
      version: server.version,
      nodes: NODES,
      sessions: ramp.ok,
      failedLogins: ramp.failed + extra.failed,
      rampLoginsPerSecond: (ramp.ok * 1000) / ramp.ms,
      rampServerCpuSeconds: rampCpu,
      nodeRssBeforeMiB: rssBefore.map((v) => v / 2 ** 20),
      nodeRssAfterMiB: rssAfter.map((v) => v / 2 ** 20),
      rssKiBPerSession: perSessionRss / 1024,
      redisBytesPerSession: perSessionRedis,
      redisUsedMiB: redisAfter / 2 ** 20,
      redisKeys: keys,
      idleRedisCommandsPerSecond: idleCommandsPerSecond,
      extraLoginsPerSecond: (extra.ok * 1000) / extra.ms,
      extraLoginLatencyMs: extraLatency,
      redisCommandsPerLogin: commandsPerLogin,
      presence: { contacts: presence.contacts, rounds: presence.rounds, missing: presence.missing, lastContactMs: complete, setupMs: presence.setupMs },
    };
    console.log(JSON.stringify(report, null, 2));
    if (values.json) writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
  } finally {
    await pool.exit();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(`bench/scale.ts: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
