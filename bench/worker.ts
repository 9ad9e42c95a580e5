// A load-generator process: it holds the client connections and runs the jobs the orchestrator
// (run.ts) sends over IPC. It measures its own CPU time for every job.
import { performance } from 'node:perf_hooks';
import { type LoginOptions, type Target, tlsCounts, XmppClient } from './lib/client.js';
import { attr, childText } from './lib/framer.js';
import { Histogram } from './lib/hist.js';
import type {
  LoginJob, LoginResult, MessagesJob, MessagesResult, PresenceJob, PresenceResult, Request, RequestEnvelope, ResponseEnvelope,
} from './lib/protocol.js';
import { sumCpu } from './lib/proc.js';
import { scramDerivations } from './lib/sasl.js';
import { hubPresenceHandler } from './lib/subscriptions.js';
import { pepFanout } from './pep.js';
import { uploadRun } from './upload.js';

function cpuMsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

type Connectable = { password: string; mechanism: LoginOptions['mechanism']; starttls: boolean; timeoutMs: number; resumeTls?: boolean; webSocket?: boolean };

function loginOptions(job: Connectable, target: Target, user: string, resource: string): LoginOptions {
  return {
    target, user, password: job.password, mechanism: job.mechanism, starttls: job.starttls, resource, presence: true, timeoutMs: job.timeoutMs,
    ...(job.resumeTls ? { resumeTls: true } : {}),
    ...(job.webSocket ? { webSocket: true } : {}),
  };
}

/** Client i of a job with several targets (the nodes of one server) goes to target i mod n. */
function spread(targets: Target[], index: number): Target {
  return targets[index % targets.length]!;
}

/** Logs `count` clients in with `concurrency` logins in flight; `options(i)` describes client i. */
async function loginMany(count: number, concurrency: number, options: (index: number) => LoginOptions, maxMs = 0) {
  const hist = new Histogram();
  const clients: Array<XmppClient | undefined> = new Array(count);
  const errors: string[] = [];
  let next = 0;
  let ok = 0;
  let failed = 0;
  const deadline = maxMs > 0 ? performance.now() + maxMs : Number.POSITIVE_INFINITY;
  const lane = async (): Promise<void> => {
    while (next < count && performance.now() < deadline) {
      const index = next++;
      const started = performance.now();
      try {
        const client = await XmppClient.login(options(index));
        hist.record(performance.now() - started);
        clients[index] = client;
        ok++;
      } catch (error) {
        failed++;
        if (errors.length < 5) errors.push(`${options(index).user}: ${(error as Error).message}`);
      }
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, lane));
  return { hist, clients, errors, ok, failed, elapsedMs: performance.now() - t0 };
}

// --- login / idle ------------------------------------------------------------------------

const groups = new Map<string, XmppClient[]>();

async function login(job: LoginJob): Promise<LoginResult> {
  const cpu = process.cpuUsage();
  const derivations = scramDerivations();
  const tls0 = { ...tlsCounts };
  const run = await loginMany(job.users.length, job.concurrency, (i) => loginOptions(job, spread(job.targets, i), job.users[i]!, job.resource), job.maxMs);
  const kept = groups.get(job.group) ?? [];
  for (const client of run.clients) if (client) kept.push(client);
  groups.set(job.group, kept);
  return {
    ok: run.ok,
    failed: run.failed,
    errors: run.errors,
    hist: run.hist.toData(),
    elapsedMs: run.elapsedMs,
    cpuMs: cpuMsSince(cpu),
    derivations: scramDerivations() - derivations,
    tlsHandshakes: tlsCounts.handshakes - tls0.handshakes,
    tlsResumed: tlsCounts.resumed - tls0.resumed,
  };
}

async function closeGroup(name: string): Promise<{ closed: number; lostBefore: number; ms: number }> {
  const clients = groups.get(name) ?? [];
  groups.delete(name);
  const t0 = performance.now();
  const lostBefore = clients.filter((client) => client.closed).length;
  await closeAll(clients);
  return { closed: clients.length, lostBefore, ms: performance.now() - t0 };
}

async function closeAll(clients: XmppClient[]): Promise<void> {
  // In slices, so that thousands of stream closes do not all land in one tick.
  for (let i = 0; i < clients.length; i += 500) await Promise.all(clients.slice(i, i + 500).map((client) => client.close(5000)));
}

// --- messages ----------------------------------------------------------------------------

interface Direction {
  sender: XmppClient;
  to: string;
  sent: number;
  received: number;
  expected: number;
}

class MessageRun {
  private readonly directions: Direction[] = [];
  private readonly clients: XmppClient[] = [];
  private running = false;
  private measuring = false;
  private readonly hist = new Histogram();
  private delivered = 0;
  private outOfOrder = 0;
  private errors = 0;
  private markCpu: NodeJS.CpuUsage | undefined;
  private markAt = 0;
  private inFlight = 0;
  private drained: (() => void) | undefined;
  private readonly pad: string;

  constructor(private readonly job: MessagesJob) {
    this.pad = 'x'.repeat(Math.max(0, job.bodyBytes - 24));
  }

  async setup(): Promise<{ ok: number; failed: number; errors: string[] }> {
    const { job } = this;
    const count = job.pairs.length * 2;
    const run = await loginMany(count, job.concurrency, (i) => {
      const pair = job.pairs[i >> 1]!;
      const a = (i & 1) === 0;
      return loginOptions(job, spread(a ? job.targetsA : job.targetsB, i >> 1), a ? pair[0] : pair[1], 'bench');
    });
    if (run.failed > 0) {
      await closeAll(run.clients.filter((c): c is XmppClient => c !== undefined));
      return { ok: run.ok, failed: run.failed, errors: run.errors };
    }
    for (let i = 0; i < job.pairs.length; i++) {
      const a = run.clients[2 * i]!;
      const b = run.clients[2 * i + 1]!;
      this.clients.push(a, b);
      const ab: Direction = { sender: a, to: b.jid, sent: 0, received: 0, expected: 0 };
      const ba: Direction = { sender: b, to: a.jid, sent: 0, received: 0, expected: 0 };
      this.directions.push(ab, ba);
      b.onStanza = (xml) => this.onStanza(ab, xml);
      a.onStanza = (xml) => this.onStanza(ba, xml);
    }
    return { ok: run.ok, failed: 0, errors: [] };
  }

  start(): void {
    this.running = true;
    for (const direction of this.directions) for (let i = 0; i < this.job.window; i++) this.send(direction);
  }

  mark(): void {
    this.hist.reset();
    this.delivered = 0;
    this.markCpu = process.cpuUsage();
    this.markAt = performance.now();
    this.measuring = true;
  }

  async stop(drainMs: number): Promise<MessagesResult> {
    const windowMs = performance.now() - this.markAt;
    this.measuring = false;
    this.running = false;
    const cpuMs = this.markCpu ? cpuMsSince(this.markCpu) : 0;
    const delivered = this.delivered;
    const hist = this.hist.toData();
    const t0 = performance.now();
    if (this.inFlight > 0) {
      await Promise.race([new Promise<void>((resolve) => (this.drained = resolve)), sleep(drainMs)]);
    }
    let sent = 0;
    let received = 0;
    for (const direction of this.directions) {
      sent += direction.sent;
      received += direction.received;
    }
    return {
      delivered,
      windowMs,
      hist,
      sent,
      received,
      lost: sent - received,
      outOfOrder: this.outOfOrder,
      errors: this.errors,
      cpuMs,
      drainMs: performance.now() - t0,
    };
  }

  async close(): Promise<void> {
    await closeAll(this.clients);
  }

  private send(direction: Direction): void {
    const seq = direction.sent++;
    this.inFlight++;
    direction.sender.send(`<message to='${direction.to}' type='chat' id='m${seq}'><body>${seq} ${performance.now().toFixed(3)} ${this.pad}</body></message>`);
  }

  private onStanza(direction: Direction, xml: string): void {
    // Only <message> matters here ('m' after '<').
    if (xml.charCodeAt(1) !== 109) return;
    const open = xml.indexOf('<body>');
    if (open < 0) {
      if (attr(xml, 'type') === 'error') this.errors++;
      return;
    }
    if (attr(xml, 'type') === 'error') {
      this.errors++;
      return;
    }
    const now = performance.now();
    const a = open + 6;
    const space1 = xml.indexOf(' ', a);
    const space2 = xml.indexOf(' ', space1 + 1);
    const seq = Number(xml.slice(a, space1));
    const sentAt = Number(xml.slice(space1 + 1, space2));
    direction.received++;
    this.inFlight--;
    if (seq !== direction.expected) this.outOfOrder++;
    direction.expected = seq + 1;
    if (this.measuring) {
      this.hist.record(now - sentAt);
      this.delivered++;
    }
    if (this.running) this.send(direction);
    else if (this.inFlight === 0) this.drained?.();
  }
}

let messageRun: MessageRun | undefined;

// --- presence fan-out --------------------------------------------------------------------

async function presence(job: PresenceJob): Promise<PresenceResult> {
  const t0 = performance.now();
  const contactCount = job.contacts.length;
  const all = [job.hub, ...job.contacts];
  const run = await loginMany(all.length, job.concurrency, (i) => loginOptions(job, job.targets[0]!, all[i]!, 'bench'));
  const clients = run.clients.filter((c): c is XmppClient => c !== undefined);
  if (run.failed > 0) {
    await closeAll(clients);
    throw new Error(`presence: ${run.failed} logins failed: ${run.errors.join('; ')}`);
  }
  const hub = run.clients[0]!;
  const domainPart = hub.bare.slice(hub.bare.indexOf('@'));
  const contactBare = job.contacts.map((contact) => contact + domainPart);
  // Subscription set-up over the protocol: both directions approved, both presences seen.
  const hubSees = new Set<string>();
  const contactSees = new Set<number>();
  let round = -1;
  const received = new Int32Array(job.rounds);
  const roundMax = new Float64Array(job.rounds);
  const deliveries = new Histogram();
  let roundDone: (() => void) | undefined;
  let setupDone: (() => void) | undefined;
  const checkSetup = (): void => {
    if (hubSees.size === contactCount && contactSees.size === contactCount) setupDone?.();
  };
  hub.onStanza = hubPresenceHandler(hub, hubSees, checkSetup);
  for (let i = 0; i < contactCount; i++) {
    const contact = run.clients[i + 1]!;
    contact.onStanza = (xml) => {
      if (!xml.startsWith('<presence')) return;
      const from = attr(xml, 'from') ?? '';
      if (!from.startsWith(hub.bare)) return;
      const type = attr(xml, 'type');
      if (type === 'subscribe') {
        contact.send(`<presence to='${hub.bare}' type='subscribed'/><presence to='${hub.bare}' type='subscribe'/>`);
        return;
      }
      if (type !== undefined) return;
      const status = childText(xml, 'status');
      if (status === undefined || !status.startsWith('round ')) {
        contactSees.add(i);
        checkSetup();
        return;
      }
      const [, k, sentAt] = status.split(' ');
      const index = Number(k);
      if (index !== round) return;
      const latency = performance.now() - Number(sentAt);
      deliveries.record(latency);
      if (latency > roundMax[index]!) roundMax[index] = latency;
      if (++received[index]! === contactCount) roundDone?.();
    };
  }
  const setup = new Promise<void>((resolve) => (setupDone = resolve));
  checkSetup();
  for (let i = 0; job.subscribe && i < contactCount; i += 100) {
    hub.send(contactBare.slice(i, i + 100).map((bare) => `<presence to='${bare}' type='subscribe'/>`).join(''));
    await sleep(5);
  }
  const setupTimeout = sleep(Math.min(job.timeoutMs, 60_000)).then(() => 'timeout' as const);
  if ((await Promise.race([setup.then(() => 'ok' as const), setupTimeout])) === 'timeout') {
    await closeAll(clients);
    throw new Error(`presence: subscriptions not established in time (hub sees ${hubSees.size}, contacts see ${contactSees.size} of ${contactCount})`);
  }
  const setupMs = performance.now() - t0;
  await sleep(500);
  const measureCpu = process.cpuUsage();
  const serverCpu0 = sumCpu(job.serverPids);
  const measureStart = performance.now();
  const complete = new Histogram();
  let missing = 0;
  for (let k = 0; k < job.rounds; k++) {
    round = k;
    const done = new Promise<void>((resolve) => (roundDone = resolve));
    const sentAt = performance.now();
    hub.send(`<presence><show>${k % 2 === 0 ? 'away' : 'dnd'}</show><status>round ${k} ${sentAt.toFixed(3)}</status></presence>`);
    const finished = await Promise.race([done.then(() => true), sleep(10_000).then(() => false)]);
    if (finished) complete.record(roundMax[k]!);
    else missing += contactCount - received[k]!;
    await sleep(20);
  }
  round = -1;
  const cpuMs = cpuMsSince(measureCpu);
  const measureMs = performance.now() - measureStart;
  const serverCpuSeconds = sumCpu(job.serverPids) - serverCpu0;
  await closeAll(clients);
  return { contacts: contactCount, rounds: job.rounds, setupMs, complete: complete.toData(), deliveries: deliveries.toData(), missing, cpuMs, measureMs, serverCpuSeconds };
}

// --- IPC ---------------------------------------------------------------------------------

async function handle(request: Request): Promise<unknown> {
  switch (request.op) {
    case 'login':
      return login(request.job);
    case 'close':
      return closeGroup(request.group);
    case 'messages-setup': {
      if (messageRun) await messageRun.close();
      messageRun = new MessageRun(request.job);
      return messageRun.setup();
    }
    case 'messages-start':
      messageRun?.start();
      return {};
    case 'messages-mark':
      messageRun?.mark();
      return {};
    case 'messages-stop':
      if (!messageRun) throw new Error('no message run');
      return messageRun.stop(request.drainMs);
    case 'messages-close':
      await messageRun?.close();
      messageRun = undefined;
      return {};
    case 'presence':
      return presence(request.job);
    case 'pep':
      return pepFanout(request.job, { loginMany, loginOptions, closeAll });
    case 'upload':
      return uploadRun(request.job, (options) => XmppClient.login(options));
    case 'exit':
      setImmediate(() => process.exit(0));
      return {};
  }
}

process.on('message', (message: RequestEnvelope) => {
  handle(message.request).then(
    (result) => process.send?.({ id: message.id, ok: true, result } satisfies ResponseEnvelope),
    (error: unknown) => process.send?.({ id: message.id, ok: false, error: (error as Error).stack ?? String(error) } satisfies ResponseEnvelope),
  );
});
process.on('disconnect', () => process.exit(0));
