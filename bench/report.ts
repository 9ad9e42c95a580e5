// RESULTS.md from the figures of one run: the targets, the side-by-side tables (ratios
// Rookery/peer), the Rookery configurations, and the conditions of the run.
import { fmt, ms, ratio } from './lib/format.js';
import { webTargets, webSection } from './report-web.js';
import type { Figure, Params, WorkloadName } from './workloads.js';

export interface RunMeta {
  date: string;
  machine: string;
  command: string;
  loadAtStart: string;
  loads: Array<{ when: string; load: string }>;
  versions: Record<string, string>;
  notes: Record<string, string[]>;
  params: Params;
  fileLimit: number;
  durationMs: number;
  startFailures: string[];
}

export const ANALYSIS_MARKER = '<!-- Everything below this line is written by hand and kept when bench/run.ts rewrites the file. -->';

type Kind = 'rookery' | 'prosody' | 'ejabberd';

function pick(figures: Figure[], workload: WorkloadName, kind: Kind, config?: string): Figure | undefined {
  return figures.find((f) => f.workload === workload && f.kind === kind && (config === undefined || f.config === config));
}

interface Row {
  label: string;
  get: (figure: Figure) => number | undefined;
  show: (value: number | undefined) => string;
  /** Whether a ratio is meaningful for this row. */
  ratio?: boolean;
}

/** The configuration tag of the Rookery figures that use both cores (bench/servers/rookery.ts). */
export const TWO_NODES = '2 nodes + Redis';
const PEER_NAME: Record<Kind, string> = { rookery: 'Rookery', prosody: 'Prosody', ejabberd: 'ejabberd' };

/**
 * Rookery as one node on the embedded store (one process, one core: Prosody's shape) and, where
 * it ran, as two nodes sharing a Redis with each client's traffic on one node (both cores, as
 * ejabberd's VM uses them); every ratio is Rookery's figure over the peer's.
 */
function sideBySide(figures: Figure[], workload: WorkloadName, rows: Row[], peers: Kind[]): string {
  const mine = [
    { label: '1 node', figure: pick(figures, workload, 'rookery', 'embedded') },
    { label: '2 nodes', figure: pick(figures, workload, 'rookery', TWO_NODES) },
  ].filter((entry, index) => index === 0 || entry.figure !== undefined);
  const others = peers.map((kind) => pick(figures, workload, kind));
  const header = [
    '',
    ...mine.map((entry) => (entry.label === '1 node' ? 'Rookery (1 node, embedded)' : 'Rookery (2 nodes + Redis)')),
    ...peers.map((kind) => PEER_NAME[kind]),
    ...mine.flatMap((entry) => peers.map((kind) => (mine.length > 1 ? `${entry.label}/${PEER_NAME[kind]}` : `Rookery/${PEER_NAME[kind]}`))),
  ];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const row of rows) {
    const values = mine.map((entry) => (entry.figure ? row.get(entry.figure) : undefined));
    const cells = [row.label, ...mine.map((entry, i) => (entry.figure ? row.show(values[i]) : 'not run'))];
    for (const other of others) cells.push(other ? row.show(row.get(other)) : 'not run');
    for (const value of values) for (const other of others) cells.push(row.ratio === false || !other ? '' : ratio(value, row.get(other)));
    lines.push(`| ${cells.join(' | ')} |`);
  }
  const present = [...mine.map((entry) => entry.figure), ...others].filter((f): f is Figure => f !== undefined);
  for (const failure of present.filter((f) => !f.ok)) lines.push('', `**${failure.server}: ${failure.error ?? 'failed'}**`);
  const notes = present.flatMap((f) => f.notes.map((note) => `- ${f.server}: ${note}`));
  if (notes.length) lines.push('', ...notes);
  return lines.join('\n');
}

const cpuRows: Row[] = [
  { label: 'server CPU, % of one core', get: (f) => f.serverCpu, show: (v) => fmt(v), ratio: false },
  { label: 'generator CPU, % of one core', get: (f) => f.generatorCpu, show: (v) => fmt(v), ratio: false },
];

function loginRows(): Row[] {
  return [
    { label: 'logins/s', get: (f) => f.values.loginsPerSecond, show: (v) => fmt(v) },
    { label: 'p50 login latency, ms', get: (f) => f.latency?.p50, show: ms },
    { label: 'p99 login latency, ms', get: (f) => f.latency?.p99, show: ms },
    { label: 'server CPU per login, ms', get: (f) => (f.values.loginsPerSecond ? (f.serverCpu * 10) / f.values.loginsPerSecond : undefined), show: (v) => fmt(v, 2) },
    { label: 'logins (failed)', get: (f) => (f.values.logins ?? 0) * 1e6 + (f.values.failed ?? 0), show: (v) => (v === undefined ? '–' : `${fmt(Math.floor(v / 1e6))} (${fmt(v % 1e6)})`), ratio: false },
    ...cpuRows,
  ];
}

function messageRows(): Row[] {
  return [
    { label: 'delivered messages/s', get: (f) => f.values.messagesPerSecond, show: (v) => fmt(v) },
    { label: 'p50 latency, ms', get: (f) => f.latency?.p50, show: ms },
    { label: 'p99 latency, ms', get: (f) => f.latency?.p99, show: ms },
    { label: 'p99.9 latency, ms', get: (f) => f.latency?.p999, show: ms },
    { label: 'lost messages', get: (f) => f.values.lost, show: (v) => fmt(v), ratio: false },
    { label: 'out of order / error replies', get: (f) => (f.values.outOfOrder ?? 0) + (f.values.errors ?? 0), show: (v) => fmt(v), ratio: false },
    { label: 'server CPU per message, µs', get: (f) => (f.values.messagesPerSecond ? (f.serverCpu * 1e4) / f.values.messagesPerSecond : undefined), show: (v) => fmt(v) },
    ...cpuRows,
  ];
}

export interface Target {
  name: string;
  /** Rookery's figure: one node on the embedded store, and two nodes + Redis where that applies. */
  one: number | undefined;
  two?: number | undefined;
  reference: number | undefined;
  referenceLabel: string;
  goal: string;
  metOne: boolean | undefined;
  metTwo?: boolean | undefined;
  show: (value: number | undefined) => string;
}

function bestPeer(figures: Figure[], workload: WorkloadName, value: (f: Figure) => number | undefined, higherIsBetter: boolean): { figure?: Figure; value?: number } {
  let best: { figure?: Figure; value?: number } = {};
  for (const kind of ['prosody', 'ejabberd'] as const) {
    const figure = pick(figures, workload, kind);
    const v = figure?.ok ? value(figure) : undefined;
    if (v === undefined || Number.isNaN(v)) continue;
    if (best.value === undefined || (higherIsBetter ? v > best.value : v < best.value)) best = { figure, value: v };
  }
  return best;
}

function targets(figures: Figure[]): Target[] {
  const out: Target[] = [];
  const mine = (workload: WorkloadName, config = 'embedded') => pick(figures, workload, 'rookery', config);
  const name = (f?: Figure): string => (f ? f.server : 'no peer figure');
  const okValue = (f: Figure | undefined, value: (f: Figure) => number | undefined): number | undefined => (f?.ok ? value(f) : undefined);
  const atLeast = (v: number | undefined, goal: number | undefined): boolean | undefined => (v !== undefined && goal !== undefined ? v >= goal : undefined);
  const atMost = (v: number | undefined, goal: number | undefined): boolean | undefined => (v !== undefined && goal !== undefined ? v <= goal : undefined);
  // Messages: ≥ 1.5× the better peer, with p99 no worse than that peer's.
  for (const workload of ['messages', 'tls-messages'] as const) {
    const best = bestPeer(figures, workload, (f) => f.values.messagesPerSecond, true);
    const one = mine(workload);
    const two = mine(workload, TWO_NODES);
    const rate = (f: Figure) => f.values.messagesPerSecond;
    const label = workload === 'messages' ? 'messages' : 'messages over STARTTLS';
    const goal = best.value !== undefined ? best.value * 1.5 : undefined;
    out.push({
      name: `${label}: messages/s ≥ 1.5 × the better peer`,
      one: okValue(one, rate),
      two: okValue(two, rate),
      reference: best.value,
      referenceLabel: name(best.figure),
      goal: goal !== undefined ? `≥ ${fmt(goal)}` : '–',
      metOne: atLeast(okValue(one, rate), goal),
      metTwo: atLeast(okValue(two, rate), goal),
      show: (v) => fmt(v),
    });
    const p99 = (f: Figure) => f.latency?.p99;
    const peerP99 = best.figure?.latency?.p99;
    out.push({
      name: `${label}: p99 latency no worse than that peer's, ms`,
      one: okValue(one, p99),
      two: okValue(two, p99),
      reference: peerP99,
      referenceLabel: name(best.figure),
      goal: peerP99 !== undefined ? `≤ ${ms(peerP99)}` : '–',
      metOne: atMost(okValue(one, p99), peerP99),
      metTwo: atMost(okValue(two, p99), peerP99),
      show: ms,
    });
  }
  for (const workload of ['login-scram', 'login-plain', 'tls-login'] as const) {
    const best = bestPeer(figures, workload, (f) => f.values.loginsPerSecond, true);
    const rate = (f: Figure) => f.values.loginsPerSecond;
    const one = mine(workload);
    const two = mine(workload, TWO_NODES);
    const label = workload === 'login-scram' ? 'SCRAM-SHA-1' : workload === 'login-plain' ? 'PLAIN' : 'STARTTLS + SCRAM-SHA-1';
    const goal = best.value !== undefined ? best.value * 1.5 : undefined;
    out.push({
      name: `logins/s (${label}) ≥ 1.5 × the better peer`,
      one: okValue(one, rate),
      two: okValue(two, rate),
      reference: best.value,
      referenceLabel: name(best.figure),
      goal: goal !== undefined ? `≥ ${fmt(goal)}` : '–',
      metOne: atLeast(okValue(one, rate), goal),
      metTwo: atLeast(okValue(two, rate), goal),
      show: (v) => fmt(v),
    });
  }
  {
    const best = bestPeer(figures, 'idle', (f) => f.values.kibPerSession, false);
    const value = okValue(mine('idle'), (f) => f.values.kibPerSession);
    out.push({
      name: 'memory per idle session ≤ the better peer, KiB',
      one: value,
      reference: best.value,
      referenceLabel: name(best.figure),
      goal: best.value !== undefined ? `≤ ${fmt(best.value, 1)}` : '–',
      metOne: atMost(value, best.value),
      show: (v) => fmt(v, 1),
    });
  }
  {
    const best = bestPeer(figures, 'presence', (f) => f.latency?.p99, false);
    const value = okValue(mine('presence'), (f) => f.latency?.p99);
    out.push({
      name: 'presence fan-out p99 (all contacts have it) ≤ the better peer, ms',
      one: value,
      reference: best.value,
      referenceLabel: name(best.figure),
      goal: best.value !== undefined ? `≤ ${ms(best.value)}` : '–',
      metOne: atMost(value, best.value),
      show: ms,
    });
  }
  {
    const cross = mine('cross-node', TWO_NODES);
    const same = mine('messages', '1 node + Redis');
    const crossRate = okValue(cross, (f) => f.values.messagesPerSecond);
    const sameRate = okValue(same, (f) => f.values.messagesPerSecond);
    out.push({
      name: 'cross-node messages/s (2 nodes + Redis) ≥ 0.8 × same-node (1 node + Redis)',
      one: crossRate,
      reference: sameRate,
      referenceLabel: 'Rookery, 1 node + Redis',
      goal: sameRate !== undefined ? `≥ ${fmt(sameRate * 0.8)}` : '–',
      metOne: atLeast(crossRate, sameRate !== undefined ? sameRate * 0.8 : undefined),
      show: (v) => fmt(v),
    });
    out.push({
      name: 'Redis round trips per cross-node message ≤ 1 (commands clients sent, a script is one; net of background)',
      one: cross?.redis?.netRoundTripsPerMessage,
      reference: undefined,
      referenceLabel: '',
      goal: '≤ 1',
      metOne: atMost(cross?.redis?.netRoundTripsPerMessage, 1),
      show: (v) => fmt(v, 3),
    });
    out.push({
      name: 'Redis commands per same-node message = 0 (1 node + Redis, net of background)',
      one: same?.redis?.netRoundTripsPerMessage ?? same?.redis?.netCommandsPerMessage,
      reference: undefined,
      referenceLabel: '',
      goal: '0 (< 0.01)',
      metOne: (() => {
        const v = same?.redis?.netRoundTripsPerMessage ?? same?.redis?.netCommandsPerMessage;
        return v === undefined ? undefined : v < 0.01;
      })(),
      show: (v) => fmt(v, 3),
    });
  }
  out.push(...webTargets(figures));
  return out;
}

function configurations(figures: Figure[]): string {
  const rows: Array<[string, WorkloadName, string]> = [
    ['1 node, embedded store', 'messages', 'embedded'],
    ['1 node + Redis', 'messages', '1 node + Redis'],
    ['2 nodes + Redis, each pair on one node', 'messages', TWO_NODES],
    ['2 nodes + Redis, every pair split over the nodes', 'cross-node', TWO_NODES],
  ];
  const lines = [
    '| configuration | messages/s | p50 ms | p99 ms | p99.9 ms | lost | Redis round trips/message (net) | Redis commands/message, commandstats (net, raw) | Redis background round trips/s | commands clients sent (MONITOR sample) | Rookery CPU % (all nodes) | Rookery CPU µs/message | redis-server CPU % | generator CPU % |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const [label, workload, config] of rows) {
    const f = pick(figures, workload, 'rookery', config);
    if (!f) {
      lines.push(`| ${label} | not run |||||||||||||`);
      continue;
    }
    const r = f.redis;
    const top = r?.sampleTop ? r.sampleTop.map(([command, calls]) => `${command} ${fmt(calls)}`).join(', ') || 'none' : '–';
    const perMessage = f.values.messagesPerSecond ? (f.serverCpu * 1e4) / f.values.messagesPerSecond : undefined;
    lines.push(
      `| ${label} | ${fmt(f.values.messagesPerSecond)} | ${ms(f.latency?.p50)} | ${ms(f.latency?.p99)} | ${ms(f.latency?.p999)} | ${fmt(f.values.lost)}${f.ok ? '' : ` (${f.error})`} | ${r?.netRoundTripsPerMessage !== undefined ? `${fmt(r.netRoundTripsPerMessage, 3)} (raw ${fmt(r.roundTripsPerMessage, 3)})` : '–'} | ${r ? `${fmt(r.netCommandsPerMessage, 3)}, ${fmt(r.commandsPerMessage, 3)}` : '–'} | ${r?.backgroundRoundTripsPerSecond !== undefined ? fmt(r.backgroundRoundTripsPerSecond, 1) : '–'} | ${top} | ${fmt(f.serverCpu)} | ${fmt(perMessage)} | ${f.helperCpu?.['redis-server'] !== undefined ? fmt(f.helperCpu['redis-server']) : '–'} | ${fmt(f.generatorCpu)} |`,
    );
  }
  const logins: Array<[string, Figure | undefined]> = [
    ['1 node, embedded store', pick(figures, 'login-scram', 'rookery', 'embedded')],
    ['1 node + Redis', pick(figures, 'login-scram', 'rookery', '1 node + Redis')],
    ['2 nodes + Redis, clients spread over the nodes', pick(figures, 'login-scram', 'rookery', TWO_NODES)],
  ];
  if (logins.some(([, f]) => f !== undefined)) {
    lines.push(
      '',
      '| configuration | SCRAM-SHA-1 logins/s | p50 ms | p99 ms | Rookery CPU % | Rookery CPU ms/login | redis-server CPU % | generator CPU % |',
      '|---|---|---|---|---|---|---|---|',
    );
    for (const [label, f] of logins) {
      if (!f) continue;
      const perLogin = f.values.loginsPerSecond ? (f.serverCpu * 10) / f.values.loginsPerSecond : undefined;
      lines.push(`| ${label} | ${fmt(f.values.loginsPerSecond)} | ${ms(f.latency?.p50)} | ${ms(f.latency?.p99)} | ${fmt(f.serverCpu)} | ${fmt(perLogin, 2)} | ${f.helperCpu?.['redis-server'] !== undefined ? fmt(f.helperCpu['redis-server']) : '–'} | ${fmt(f.generatorCpu)} |`);
    }
  }
  return lines.join('\n');
}

export function renderResults(figures: Figure[], meta: RunMeta, kept: string | undefined): string {
  const peers = (['prosody', 'ejabberd'] as const).filter((kind) => figures.some((f) => f.kind === kind));
  const p = meta.params;
  const out: string[] = [];
  out.push('# Benchmark results', '');
  out.push(
    `Generated by \`${meta.command}\` (bench/run.ts). Configuration of every figure: Rookery runs as **1 node on the embedded store** (one process, so one core, like Prosody) and, for the login, messages and TLS workloads, also as **2 nodes sharing one Redis, each client's traffic on one node** (two processes, both cores, as ejabberd's VM uses them); both are in the side-by-side tables, labelled. Prosody and ejabberd run as one server each (Prosody single-threaded, ejabberd on every core). The Redis configurations and the cross-node traffic are in section 5.`,
    '',
  );
  out.push(`- Date: ${meta.date} (run took ${(meta.durationMs / 60_000).toFixed(1)} min)`);
  out.push(`- Machine: ${meta.machine}; loopback only; server, generator (and Redis) share the cores`);
  out.push(`- Load average (1/5/15 min) at the start: ${meta.loadAtStart}`);
  for (const load of meta.loads) out.push(`  - ${load.when}: ${load.load}`);
  out.push(`- Open-file limit (soft = hard) for the generator and every server: ${meta.fileLimit}`);
  out.push('- Versions:');
  for (const [name, version] of Object.entries(meta.versions)) out.push(`  - ${name}: ${version}`);
  out.push('', '## Parameters', '');
  out.push('| workload | parameters |', '|---|---|');
  out.push(`| 1. login | ${p.loginClients} clients per mechanism (SCRAM-SHA-1, then PLAIN, plain TCP), or as many as start within ${p.loginMaxMs / 1000} s, ${p.loginConcurrency} logins in flight (closed loop); a login = TCP connect → stream → SASL → stream restart → bind → initial presence → the server's reflection of that presence; sessions stay open until the end of the run |`);
  out.push(`| 2. idle | ${p.idleSessions} available sessions (SCRAM-SHA-1, ${p.idleConcurrency} logins in flight); RSS of the server process(es) 2 s before the first login and 5 s after the last; per session = difference / sessions |`);
  out.push(`| 3. messages | ${p.pairs} pairs (${2 * p.pairs} clients), window ${p.window} messages in flight per direction, chat messages to the peer's full JID with a ${p.bodyBytes}-byte body, ${p.warmupMs / 1000} s warm-up, ${p.durationMs / 1000} s measured, then sending stops and every message in flight must arrive within ${p.drainMs / 1000} s (lost = sent − received) |`);
  out.push(`| 4. presence | 1 user with ${p.presenceContacts} mutual (both) subscriptions, set up over XMPP (Prosody: written into its roster store, see below); ${p.presenceRounds} presence changes, one after the other; per change: the time until the last contact has it |`);
  out.push(`| 5. cross-node | the messages workload on Rookery with 2 nodes sharing one Redis, side A of each pair on node 1, side B on node 2. Redis round trips (commands clients sent; a Lua script is one, as cluster/README.md counts) from a 2 s MONITOR sample right after the warm-up, per message at the measured rate; Redis commands from INFO commandstats before/after the measured window (these include what scripts run inside); both net of the background (heartbeats, sweeps) measured for 3 s with the clients connected and idle |`);
  out.push(`| Rookery on 2 nodes | login, messages and TLS: the same workloads with the clients spread over two nodes sharing one Redis (login: client i on node i mod 2; messages: pair i on node i mod 2, both sides on it); accounts in Redis |`);
  out.push(`| 6. TLS | login: ${p.tlsLoginClients} clients, STARTTLS then SCRAM-SHA-1 (RSA-2048 certificate, the same for every server); messages: as 3, every client over STARTTLS |`);
  out.push(`| generator | ${p.generators} load-generator process(es) (bench/worker.ts, raw sockets, own XML framer and SCRAM); its CPU time (process.cpuUsage) is given next to every figure; server CPU from /proc/<pid>/stat (utime + stime, all threads) over the same interval. 100 % = one core; the machine has ${meta.machine.split(' ')[0]} cores |`);
  out.push('', '## Targets', '');
  out.push(
    'Rookery as 1 node on the embedded store (one process: one core) and as 2 nodes sharing a Redis, each client\'s traffic on one node (both cores). Where a target has one figure, its configuration is in its name.',
    '',
    '| target | Rookery, 1 node | Rookery, 2 nodes | reference | reference value | goal | met (1 node) | met (2 nodes) |',
    '|---|---|---|---|---|---|---|---|',
  );
  const verdict = (met: boolean | undefined, present: boolean): string => (!present ? '' : met === undefined ? 'not measured' : met ? 'yes' : '**no**');
  for (const t of targets(figures)) {
    const hasTwo = 'two' in t;
    out.push(
      `| ${t.name} | ${t.show(t.one)} | ${hasTwo ? t.show(t.two) : ''} | ${t.referenceLabel} | ${t.reference === undefined ? '–' : t.show(t.reference)} | ${t.goal} | ${verdict(t.metOne, true)} | ${verdict(t.metTwo, hasTwo)} |`,
    );
  }
  out.push('', 'Ratios in the tables below are Rookery/peer: above 1 is better for rates, below 1 is better for latencies and memory.');
  out.push('', '## 1. Login (plain TCP)', '', '### SCRAM-SHA-1', '', sideBySide(figures, 'login-scram', loginRows(), peers));
  out.push('', '### PLAIN', '', sideBySide(figures, 'login-plain', loginRows(), peers));
  out.push('', '## 2. Idle sessions', '');
  out.push(
    sideBySide(
      figures,
      'idle',
      [
        { label: 'sessions', get: (f) => f.values.sessions, show: (v) => fmt(v), ratio: false },
        { label: 'server RSS before, MiB', get: (f) => f.values.rssBeforeMiB, show: (v) => fmt(v, 1) },
        { label: 'server RSS with the sessions, MiB', get: (f) => f.values.rssAfterMiB, show: (v) => fmt(v, 1) },
        { label: 'RSS per session, KiB', get: (f) => f.values.kibPerSession, show: (v) => fmt(v, 1) },
        { label: 'logins/s during the ramp', get: (f) => f.values.rampLoginsPerSecond, show: (v) => fmt(v) },
        { label: 'server CPU during the ramp, % of one core', get: (f) => f.serverCpu, show: (v) => fmt(v), ratio: false },
        { label: 'generator CPU during the ramp, % of one core', get: (f) => f.generatorCpu, show: (v) => fmt(v), ratio: false },
        { label: 'SCRAM derivations in the generator (first logins)', get: (f) => f.values.derivations, show: (v) => fmt(v), ratio: false },
      ],
      peers,
    ),
  );
  out.push('', '## 3. Messages (plain TCP)', '', sideBySide(figures, 'messages', messageRows(), peers));
  out.push('', '## 4. Presence fan-out', '');
  out.push(
    sideBySide(
      figures,
      'presence',
      [
        { label: 'contacts × changes', get: (f) => f.values.contacts, show: (v) => `${fmt(v)} × ${p.presenceRounds}`, ratio: false },
        { label: 'all contacts have it: p50, ms', get: (f) => f.latency?.p50, show: ms },
        { label: 'all contacts have it: p99, ms', get: (f) => f.latency?.p99, show: ms },
        { label: 'single delivery: p50, ms', get: (f) => f.latency2?.p50, show: ms },
        { label: 'single delivery: p99, ms', get: (f) => f.latency2?.p99, show: ms },
        { label: 'broadcasts that never arrived', get: (f) => f.values.missing, show: (v) => fmt(v), ratio: false },
        { label: 'subscription set-up (not measured), s', get: (f) => (f.values.setupMs ?? Number.NaN) / 1000, show: (v) => fmt(v, 1), ratio: false },
        ...cpuRows,
      ],
      peers,
    ),
  );
  out.push('', '## 5. Rookery configurations and cross-node traffic', '', configurations(figures));
  out.push('', '## 6. TLS (STARTTLS)', '', '### Login: STARTTLS + SCRAM-SHA-1', '', sideBySide(figures, 'tls-login', loginRows(), peers));
  out.push(
    '',
    '### Login of a reconnecting client: STARTTLS resuming its previous TLS session (ticket) + SCRAM-SHA-1',
    '',
    sideBySide(figures, 'tls-resume-login', [...loginRows(), { label: 'handshakes that resumed', get: (f) => f.values.tlsResumedShare, show: (v) => (v === undefined ? '–' : `${fmt(v * 100)} %`), ratio: false }], peers),
  );
  out.push('', '### Messages over STARTTLS', '', sideBySide(figures, 'tls-messages', messageRows(), peers));
  const web = webSection(figures, p);
  if (web) out.push('', web);
  out.push('', '## How each server was configured', '');
  for (const [server, notes] of Object.entries(meta.notes)) {
    out.push(`- **${server}**`);
    for (const note of notes) out.push(`  - ${note}`);
  }
  const failed = figures.filter((f) => !f.ok);
  if (failed.length || meta.startFailures.length) {
    out.push('', '## Failures', '');
    for (const failure of meta.startFailures) out.push(`- ${failure}`);
    for (const f of failed) out.push(`- ${f.server} / ${f.workload}: ${f.error ?? 'failed'}`);
  }
  out.push('', ANALYSIS_MARKER, '');
  out.push(kept?.trim() ? kept.trim() : '## Analysis\n\n(none yet)');
  out.push('');
  return out.join('\n');
}

/** A short console summary of one figure. */
export function oneLine(f: Figure): string {
  const v = f.values;
  const cpu = `server ${fmt(f.serverCpu)}% gen ${fmt(f.generatorCpu)}%`;
  const lat = f.latency ? ` p50 ${ms(f.latency.p50)} p99 ${ms(f.latency.p99)} p99.9 ${ms(f.latency.p999)} ms` : '';
  let main = '';
  if (f.workload === 'upload') main = `${fmt(v.size)} bytes × ${fmt(v.files)} ${v.put ? 'PUT (with the slot request)' : 'GET'}: ${fmt(v.megabytesPerSecond, 1)} MB/s, ${fmt(v.filesPerSecond, 1)} files/s`;
  else if (f.workload === 'idle' || f.workload === 'ws-idle') main = `${fmt(v.sessions)} sessions, ${fmt(v.kibPerSession, 1)} KiB/session (RSS ${fmt(v.rssBeforeMiB, 1)} → ${fmt(v.rssAfterMiB, 1)} MiB), ramp ${fmt(v.rampLoginsPerSecond)} logins/s`;
  else if (f.workload.includes('login')) main = `${fmt(v.loginsPerSecond)} logins/s (${fmt(v.logins)} ok, ${fmt(v.failed)} failed)`;
  else if (f.workload === 'pep') main = `${fmt(v.contacts)} contacts with +notify, all-have-the-event${lat}; single delivery p99 ${ms(f.latency2?.p99)} ms, missing ${fmt(v.missing)}`;
  else if (f.workload === 'presence') main = `${fmt(v.contacts)} contacts, all-have-it${lat}; single delivery p99 ${ms(f.latency2?.p99)} ms, missing ${fmt(v.missing)}`;
  else main = `${fmt(v.messagesPerSecond)} msg/s, lost ${fmt(v.lost)}, out-of-order ${fmt(v.outOfOrder)}, errors ${fmt(v.errors)}`;
  const trips = f.redis?.netRoundTripsPerMessage !== undefined ? `${fmt(f.redis.netRoundTripsPerMessage, 3)} round trips/msg net (${(f.redis.sampleTop ?? []).map(([c, n]) => `${c}=${n}`).join(' ')}); ` : '';
  const redis = f.redis ? `, Redis ${trips}${fmt(f.redis.netCommandsPerMessage, 3)} cmd/msg net (raw ${fmt(f.redis.commandsPerMessage, 3)}; ${f.redis.top.map(([c, n]) => `${c}=${n}`).join(' ')})` : '';
  const helpers = f.helperCpu ? Object.entries(f.helperCpu).map(([name, pct]) => `, ${name} ${fmt(pct)}%`).join('') : '';
  return `${f.server} / ${f.workload}: ${main}${f.workload === 'presence' || f.workload === 'pep' ? '' : lat}${redis} [${cpu}${helpers}]${f.ok ? '' : ` FAILED: ${f.error}`}`;
}
