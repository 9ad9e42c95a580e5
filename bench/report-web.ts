// RESULTS.md, section 7: Rookery over XMPP-over-WebSocket (RFC 7395) against plain TCP on the
// same node configuration (1 node, embedded store; each started fresh for its idle workload), and
// HTTP upload (XEP-0363) through one node with the disk store. Rookery only: the peers are not
// run over WebSocket here.
import { fmt, ms, ratio } from './lib/format.js';
import type { Target } from './report.js';
import type { Figure, Params, WorkloadName } from './workloads.js';

const CONFIG = 'embedded';
const pick = (figures: Figure[], workload: WorkloadName): Figure | undefined => figures.find((f) => f.workload === workload && f.kind === 'rookery' && f.config === CONFIG);
const okValue = (f: Figure | undefined, value: (f: Figure) => number | undefined): number | undefined => (f?.ok ? value(f) : undefined);

/** The goal: WebSocket at least 0.8 × TCP, for messages/s and (inverted) for memory per session. */
export function webTargets(figures: Figure[]): Target[] {
  const out: Target[] = [];
  const [tcp, ws] = [pick(figures, 'messages'), pick(figures, 'ws-messages')];
  if (ws) {
    const rate = (f: Figure) => f.values.messagesPerSecond;
    const goal = okValue(tcp, rate) === undefined ? undefined : 0.8 * (okValue(tcp, rate) as number);
    const value = okValue(ws, rate);
    out.push({
      name: 'messages/s over WebSocket ≥ 0.8 × over TCP (1 node, embedded)',
      one: value,
      reference: okValue(tcp, rate),
      referenceLabel: 'Rookery over TCP, same run',
      goal: goal === undefined ? '–' : `≥ ${fmt(goal)}`,
      metOne: value === undefined || goal === undefined ? undefined : value >= goal,
      show: (v) => fmt(v),
    });
  }
  const [tcpIdle, wsIdle] = [pick(figures, 'idle'), pick(figures, 'ws-idle')];
  if (wsIdle) {
    const kib = (f: Figure) => f.values.kibPerSession;
    const goal = okValue(tcpIdle, kib) === undefined ? undefined : (okValue(tcpIdle, kib) as number) / 0.8;
    const value = okValue(wsIdle, kib);
    out.push({
      name: 'RSS per session over WebSocket ≤ 1.25 × over TCP (sessions per MiB ≥ 0.8 ×), KiB',
      one: value,
      reference: okValue(tcpIdle, kib),
      referenceLabel: 'Rookery over TCP, same run',
      goal: goal === undefined ? '–' : `≤ ${fmt(goal, 1)}`,
      metOne: value === undefined || goal === undefined ? undefined : value <= goal,
      show: (v) => fmt(v, 1),
    });
  }
  return out;
}

interface Row {
  label: string;
  workloads: [WorkloadName, WorkloadName];
  get: (f: Figure) => number | undefined;
  show: (v: number | undefined) => string;
  ratio?: boolean;
}

const ROWS: Row[] = [
  { label: 'idle sessions', workloads: ['idle', 'ws-idle'], get: (f) => f.values.sessions, show: (v) => fmt(v), ratio: false },
  { label: 'RSS per idle session, KiB', workloads: ['idle', 'ws-idle'], get: (f) => f.values.kibPerSession, show: (v) => fmt(v, 1) },
  { label: 'logins/s during the idle ramp', workloads: ['idle', 'ws-idle'], get: (f) => f.values.rampLoginsPerSecond, show: (v) => fmt(v) },
  { label: 'delivered messages/s', workloads: ['messages', 'ws-messages'], get: (f) => f.values.messagesPerSecond, show: (v) => fmt(v) },
  { label: 'p50 latency, ms', workloads: ['messages', 'ws-messages'], get: (f) => f.latency?.p50, show: ms },
  { label: 'p99 latency, ms', workloads: ['messages', 'ws-messages'], get: (f) => f.latency?.p99, show: ms },
  { label: 'lost messages', workloads: ['messages', 'ws-messages'], get: (f) => f.values.lost, show: (v) => fmt(v), ratio: false },
  { label: 'server CPU per message, µs', workloads: ['messages', 'ws-messages'], get: (f) => (f.values.messagesPerSecond ? (f.serverCpu * 1e4) / f.values.messagesPerSecond : undefined), show: (v) => fmt(v) },
  { label: 'server CPU (messages), % of one core', workloads: ['messages', 'ws-messages'], get: (f) => f.serverCpu, show: (v) => fmt(v), ratio: false },
  { label: 'generator CPU (messages), % of one core', workloads: ['messages', 'ws-messages'], get: (f) => f.generatorCpu, show: (v) => fmt(v), ratio: false },
];

function transports(figures: Figure[]): string {
  const lines = ['| | TCP | WebSocket | WebSocket/TCP |', '|---|---|---|---|'];
  for (const row of ROWS) {
    const [tcp, ws] = row.workloads.map((workload) => pick(figures, workload));
    const [a, b] = [tcp ? row.get(tcp) : undefined, ws ? row.get(ws) : undefined];
    lines.push(`| ${row.label} | ${tcp ? row.show(a) : 'not run'} | ${ws ? row.show(b) : 'not run'} | ${row.ratio === false ? '' : ratio(b, a)} |`);
  }
  const present = ['idle', 'ws-idle', 'messages', 'ws-messages'].map((w) => pick(figures, w as WorkloadName)).filter((f): f is Figure => f !== undefined);
  for (const failure of present.filter((f) => !f.ok)) lines.push('', `**${failure.workload}: ${failure.error ?? 'failed'}**`);
  return lines.join('\n');
}

function uploads(figures: Figure[]): string {
  const all = figures.filter((f) => f.workload === 'upload' && f.kind === 'rookery');
  const sizes = [...new Set(all.map((f) => f.values.size ?? 0))].sort((a, b) => a - b);
  const lines = ['| file size | files | PUT, MB/s | GET, MB/s | PUT per file p50 / p99, ms | GET per file p50 / p99, ms | server CPU PUT / GET, % of one core | generator CPU PUT / GET |', '|---|---|---|---|---|---|---|---|'];
  for (const size of sizes) {
    const put = all.find((f) => f.values.size === size && f.values.put === 1);
    const get = all.find((f) => f.values.size === size && f.values.put === 0);
    const label = size >= 1 << 20 ? `${fmt(size / (1 << 20))} MiB` : `${fmt(size / 1024)} KiB`;
    lines.push(
      `| ${label} | ${fmt(put?.values.files)} | ${fmt(put?.values.megabytesPerSecond, 1)} | ${fmt(get?.values.megabytesPerSecond, 1)} | ${ms(put?.latency?.p50)} / ${ms(put?.latency?.p99)} | ${ms(get?.latency?.p50)} / ${ms(get?.latency?.p99)} | ${fmt(put?.serverCpu)} / ${fmt(get?.serverCpu)} | ${fmt(put?.generatorCpu)} / ${fmt(get?.generatorCpu)} |`,
    );
  }
  for (const failure of all.filter((f) => !f.ok)) lines.push('', `**upload: ${failure.error ?? 'failed'}**`);
  return lines.join('\n');
}

/** Section 7, or undefined when none of its workloads ran. */
export function webSection(figures: Figure[], params: Params): string | undefined {
  const ran = figures.some((f) => f.kind === 'rookery' && ['ws-idle', 'ws-messages', 'upload'].includes(f.workload));
  if (!ran) return undefined;
  const out = ['## 7. Rookery over WebSocket, and HTTP upload', ''];
  out.push(
    'Rookery as 1 node on the embedded store. TCP: the idle and messages workloads above; WebSocket: the same workloads over XMPP-over-WebSocket (RFC 7395, `/xmpp-websocket` on the HTTP port, no permessage-deflate, one stanza per message) on a node of its own, started fresh so that its idle workload runs first, as the TCP one does. The generator\'s WebSocket client is the `ws` package under the same client code (bench/lib/websocket-wire.ts).',
    '',
    transports(figures),
    '',
    `HTTP upload (XEP-0363) through the same kind of node, disk store (\`uploads\` in its data directory): for each size, ${params.uploadConcurrency} uploads in flight (one account each), every file first PUT to its slot (the time of a PUT includes its slot request over XMPP), then all fetched back (GET, length checked). MB/s = 10^6 bytes per second of the phase.`,
    '',
    uploads(figures),
  );
  return out.join('\n');
}
