// Messages over federation (issue #20): from users of one server to users of another over
// server-to-server streams, for Rookery with Prosody and with ejabberd, both ways, and for
// Prosody with ejabberd as the reference. The servers are those of bench/servers/ with
// federation on (one Rookery node on the embedded store); each serves an IP-literal domain on an
// address of its own and listens for s2s on 5269 there (STARTTLS, then dialback: the run's
// certificate names none of them), so no DNS or routes are needed. As root, the run goes into a
// network namespace of its own (unshare -n) so that 5269 on loopback is surely free.
//
// Per direction, `pairs` senders on one server each send to one receiver (a full JID) on the other:
//   closed loop: each sender keeps `window` messages in flight for `seconds`: messages/s delivered,
//                latency p50/p99, and the CPU each server spent per 1000 messages;
//   fixed rate:  `rate` messages/s in all for `seconds`: latency p50/p99/max, unloaded.
// Every message is accounted for: delivered, bounced (an error back to its sender) or lost.
//
//   node --import tsx bench/s2s.ts [--pairs 20] [--window 10] [--seconds 10] [--rate 300] [--only rookery-prosody,rookery-ejabberd,reference] [--out FILE] [--profile DIR]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { XmppClient } from './lib/client.js';
import { attr } from './lib/framer.js';
import { fmt, ms } from './lib/format.js';
import { Histogram, summarize, type LatencySummary } from './lib/hist.js';
import { commandOutput, findPids, loadAverage, machine, sleep, sumCpu } from './lib/proc.js';
import { startEjabberd } from './servers/ejabberd.js';
import { startProsody } from './servers/prosody.js';
import { startRookery } from './servers/rookery.js';
import type { LaunchContext, RunningServer, ServerKind } from './servers/types.js';

const { values: args } = parseArgs({
  options: {
    pairs: { type: 'string', default: '20' },
    window: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '10' },
    rate: { type: 'string', default: '300' },
    /** Which pairs of servers, both ways: rookery-prosody, rookery-ejabberd, reference (prosody-ejabberd). */
    only: { type: 'string', default: 'rookery-prosody,rookery-ejabberd,reference' },
    out: { type: 'string' },
    /** A directory for a CPU profile of the Rookery node (bench/profile-summary.ts reads it). */
    profile: { type: 'string' },
  },
});
const PAIRS = Number(args.pairs);
const WINDOW = Number(args.window);
const SECONDS = Number(args.seconds);
const RATE = Number(args.rate);
const PASSWORD = 'bench-password';
const ADDRESSES: Record<ServerKind, string> = { rookery: '127.30.0.1', prosody: '127.30.0.2', ejabberd: '127.30.0.3' };
const NAMES: Record<ServerKind, string> = { rookery: 'Rookery', prosody: 'Prosody', ejabberd: 'ejabberd' };
// Not ROOKERY_…: the server refuses variables of that prefix it does not know.
const NETNS_FLAG = 'BENCH_S2S_NETNS';

const log = (line: string): void => console.error(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

interface DirectionResult {
  from: ServerKind;
  to: ServerKind;
  /** Closed loop. */
  perSecond: number;
  loaded: LatencySummary;
  /** CPU ms per 1000 messages, sender's server and receiver's server. */
  cpuFrom: number;
  cpuTo: number;
  /** Fixed rate. */
  paced: LatencySummary;
  pacedRate: number;
  sent: number;
  delivered: number;
  bounced: number;
  lost: number;
  duplicates: number;
}

/** One side's clients: senders on `from`, receivers on `to`, sender i writing to receiver i. */
class Lanes {
  private readonly sentAt = new Map<string, number>();
  private readonly seen = new Set<string>();
  sent = 0;
  delivered = 0;
  bounced = 0;
  duplicates = 0;
  histogram = new Histogram();
  /** Told of each delivery to receiver i. */
  onDelivered: ((lane: number) => void) | undefined;
  private counter = 0;

  constructor(
    readonly senders: XmppClient[],
    readonly receivers: XmppClient[],
  ) {
    receivers.forEach((receiver, lane) => {
      receiver.onStanza = (xml) => {
        if (!xml.startsWith('<message') || attr(xml, 'type') === 'error') return;
        const id = attr(xml, 'id') ?? '';
        const at = this.sentAt.get(id);
        if (at === undefined) return;
        if (this.seen.has(id)) {
          this.duplicates += 1;
          return;
        }
        this.seen.add(id);
        this.delivered += 1;
        this.histogram.record(performance.now() - at);
        this.onDelivered?.(lane);
      };
    });
    for (const sender of senders) {
      sender.onStanza = (xml) => {
        if (xml.startsWith('<message') && attr(xml, 'type') === 'error' && this.sentAt.has(attr(xml, 'id') ?? '')) this.bounced += 1;
      };
    }
  }

  send(lane: number): void {
    const id = `m${++this.counter}`;
    const receiver = this.receivers[lane] as XmppClient;
    this.sentAt.set(id, performance.now());
    this.sent += 1;
    (this.senders[lane] as XmppClient).send(`<message type='chat' to='${receiver.jid}' id='${id}'><body>${id} over federation</body></message>`);
  }

  /** Resets the counts (not what is in flight: it still arrives, and counts then). */
  reset(): void {
    this.sent = 0;
    this.delivered = 0;
    this.bounced = 0;
    this.duplicates = 0;
    this.histogram = new Histogram();
    this.sentAt.clear();
    this.seen.clear();
  }

  async settle(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.delivered + this.bounced < this.sent && Date.now() < deadline) await sleep(50);
  }
}

async function login(server: RunningServer, user: string): Promise<XmppClient> {
  const target = server.targets[0];
  if (!target) throw new Error(`${server.label}: no target`);
  return XmppClient.login({ target, user, password: PASSWORD, mechanism: 'PLAIN', starttls: false, resource: 'bench', presence: true, timeoutMs: 30_000 });
}

async function direction(from: RunningServer, to: RunningServer): Promise<DirectionResult> {
  const senders = await Promise.all(Array.from({ length: PAIRS }, (_, index) => login(from, `s${index}`)));
  const receivers = await Promise.all(Array.from({ length: PAIRS }, (_, index) => login(to, `r${index}`)));
  const lanes = new Lanes(senders, receivers);
  try {
    // Warm: the streams both ways (dialback asks the other way) are up before anything is timed.
    for (let lane = 0; lane < PAIRS; lane++) lanes.send(lane);
    await lanes.settle(60_000);
    if (lanes.delivered < PAIRS) throw new Error(`${from.kind} → ${to.kind}: ${lanes.delivered} of ${PAIRS} warm-up messages arrived (${lanes.bounced} bounced)`);
    await sleep(500);

    // Closed loop: a window per lane.
    lanes.reset();
    let running = true;
    lanes.onDelivered = (lane) => {
      if (running) lanes.send(lane);
    };
    const cpu0 = { from: sumCpu(from.pids()), to: sumCpu(to.pids()) };
    const t0 = performance.now();
    for (let lane = 0; lane < PAIRS; lane++) for (let k = 0; k < WINDOW; k++) lanes.send(lane);
    await sleep(SECONDS * 1000);
    running = false;
    const elapsed = (performance.now() - t0) / 1000;
    const deliveredInTime = lanes.delivered;
    const cpu = { from: sumCpu(from.pids()) - cpu0.from, to: sumCpu(to.pids()) - cpu0.to };
    const loaded = summarize(lanes.histogram);
    await lanes.settle(30_000);
    const closed = { sent: lanes.sent, delivered: lanes.delivered, bounced: lanes.bounced, duplicates: lanes.duplicates };
    lanes.onDelivered = undefined;
    await sleep(500);

    // Fixed rate, spread evenly over the lanes, every 10 ms.
    lanes.reset();
    const perTick = RATE / 100;
    let owed = 0;
    let next = 0;
    const p0 = performance.now();
    const ticker = setInterval(() => {
      owed += perTick;
      for (; owed >= 1; owed -= 1) lanes.send(next++ % PAIRS);
    }, 10);
    await sleep(SECONDS * 1000);
    clearInterval(ticker);
    const pacedRate = lanes.sent / ((performance.now() - p0) / 1000);
    await lanes.settle(30_000);
    const paced = summarize(lanes.histogram);
    const sent = closed.sent + lanes.sent;
    const delivered = closed.delivered + lanes.delivered;
    const bounced = closed.bounced + lanes.bounced;
    return {
      from: from.kind,
      to: to.kind,
      perSecond: deliveredInTime / elapsed,
      loaded,
      cpuFrom: (cpu.from * 1000 * 1000) / Math.max(1, deliveredInTime),
      cpuTo: (cpu.to * 1000 * 1000) / Math.max(1, deliveredInTime),
      paced,
      pacedRate,
      sent,
      delivered,
      bounced,
      lost: sent - delivered - bounced,
      duplicates: closed.duplicates + lanes.duplicates,
    };
  } finally {
    await Promise.all([...senders, ...receivers].map((client) => client.close().catch(() => client.destroy())));
  }
}

function table(results: DirectionResult[]): string {
  const rows = results.map((r) =>
    `| ${NAMES[r.from]} → ${NAMES[r.to]} | ${fmt(r.perSecond)} | ${ms(r.loaded.p50)} | ${ms(r.loaded.p99)} | ${fmt(r.cpuFrom, 0)} / ${fmt(r.cpuTo, 0)} | ${fmt(r.pacedRate)} | ${ms(r.paced.p50)} | ${ms(r.paced.p99)} | ${ms(r.paced.max)} | ${fmt(r.sent)} | ${fmt(r.bounced)} | ${fmt(r.lost)} | ${fmt(r.duplicates)} |`,
  );
  return [
    `| direction | msg/s (window ${WINDOW} × ${PAIRS}) | p50 ms | p99 ms | CPU ms per 1000 msgs, sending / receiving server | fixed rate msg/s | p50 ms | p99 ms | max ms | sent | bounced | lost | twice |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
  ].join('\n');
}

/** As root, re-runs this script in a network namespace of its own, where 5269 is free on every loopback address. */
function enterNetworkNamespace(): void {
  if (process.env[NETNS_FLAG] === '1' || process.getuid?.() !== 0) return;
  if (spawnSync('sh', ['-c', 'command -v unshare && command -v ip'], { stdio: 'ignore' }).status !== 0) return;
  const script = 'ip link set lo up && exec "$0" "$@"';
  const result = spawnSync('unshare', ['-n', 'sh', '-c', script, process.execPath, ...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env: { ...process.env, [NETNS_FLAG]: '1' } });
  process.exit(result.status ?? 1);
}

async function main(): Promise<void> {
  enterNetworkNamespace();
  const groups = new Set(args.only.split(','));
  const PAIRS_OF: Record<string, [ServerKind, ServerKind]> = { 'rookery-prosody': ['rookery', 'prosody'], 'rookery-ejabberd': ['rookery', 'ejabberd'], reference: ['prosody', 'ejabberd'] };
  const unknown = [...groups].filter((group) => !(group in PAIRS_OF));
  if (unknown.length > 0) throw new Error(`--only: unknown ${unknown.join(', ')} (known: ${Object.keys(PAIRS_OF).join(', ')})`);
  const pairs = [...groups].flatMap((group) => {
    const [a, b] = PAIRS_OF[group] as [ServerKind, ServerKind];
    return [[a, b], [b, a]] as Array<[ServerKind, ServerKind]>;
  });
  const kinds = (['rookery', 'prosody', 'ejabberd'] as const).filter((kind) => pairs.some((pair) => pair.includes(kind)));
  // bench/servers/ejabberd.ts finds its beam process by node name: another run's would be taken for it.
  if (kinds.includes('ejabberd') && findPids((cmdline, comm) => comm.startsWith('beam') && cmdline.includes('benchej@localhost')).length > 0) throw new Error('another benchmark runs ejabberd (benchej@localhost): wait for it to finish');
  const dir = mkdtempSync(join(tmpdir(), 'rookery-bench-s2s-'));
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '7', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost'], { stdio: 'ignore' });
  const profile = (kind: ServerKind) => (args.profile !== undefined && kind === 'rookery' ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${args.profile}`] } : {});
  const context = (kind: ServerKind): LaunchContext => ({ dir, certFile, keyFile, domain: ADDRESSES[kind], log, federation: { address: ADDRESSES[kind] }, ...profile(kind) });
  const started: RunningServer[] = [];
  const loadAtStart = loadAverage();
  const results: DirectionResult[] = [];
  let failed = true;
  try {
    for (const kind of kinds) {
      const server = kind === 'rookery' ? await startRookery('embedded', context(kind)) : kind === 'prosody' ? await startProsody(context(kind)) : await startEjabberd(context(kind));
      started.push(server);
      await server.createAccounts([...Array.from({ length: PAIRS }, (_, index) => `s${index}`), ...Array.from({ length: PAIRS }, (_, index) => `r${index}`)], PASSWORD);
      log(`${server.label} ${server.version} on ${ADDRESSES[kind]}`);
    }
    const byKind = new Map(started.map((server) => [server.kind, server]));
    for (const [from, to] of pairs) {
      log(`${NAMES[from]} → ${NAMES[to]} (load ${loadAverage()})`);
      const result = await direction(byKind.get(from) as RunningServer, byKind.get(to) as RunningServer);
      results.push(result);
      log(`${NAMES[from]} → ${NAMES[to]}: ${fmt(result.perSecond)} msg/s, p99 ${ms(result.loaded.p99)} ms loaded, ${ms(result.paced.p99)} ms at ${fmt(result.pacedRate)} msg/s; ${result.bounced} bounced, ${result.lost} lost`);
      await sleep(1000);
    }
    failed = false;
  } finally {
    for (const server of started.reverse()) await server.stop().catch((error: unknown) => log(`stopping ${server.label}: ${String(error)}`));
    if (commandOutput('sh', ['-c', 'command -v epmd']) !== '' && process.env[NETNS_FLAG] === '1') commandOutput('epmd', ['-kill']);
    // The servers' logs stay for a look when the run failed.
    if (failed) log(`scratch directory kept: ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
  const versions = started.map((server) => `${server.label}: ${server.version}`).join('; ');
  const report = [
    `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${machine()}, load at start ${loadAtStart}, at the end ${loadAverage()}.`,
    `\`node --import tsx bench/s2s.ts ${process.argv.slice(2).join(' ')}\`: ${PAIRS} pairs, window ${WINDOW}, ${SECONDS} s per phase, fixed rate ${RATE} msg/s. ${versions}.`,
    '',
    table(results),
  ].join('\n');
  console.log(report);
  if (args.out) writeFileSync(args.out, `${report}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
