// The PEP fan-out workload's generator side (XEP-0163): a hub with N mutual contacts whose
// clients announce XEP-0115 caps with NODE+notify (all the same client, so one ver, as most
// deployments see) and answer the server's disco#info; the hub publishes one item per round and
// each contact records when the event arrived. The servers resolve the caps themselves.
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { LoginOptions, Target, XmppClient } from './lib/client.js';
import { attr, childText } from './lib/framer.js';
import { Histogram } from './lib/hist.js';
import type { PresenceJob, PresenceResult } from './lib/protocol.js';
import { sumCpu } from './lib/proc.js';
import { hubPresenceHandler } from './lib/subscriptions.js';

const NODE = 'http://jabber.org/protocol/nick';
const INFO = 'http://jabber.org/protocol/disco#info';
const CAPS_NODE = 'https://rookery.example/bench-client';
const FEATURES = [INFO, 'http://jabber.org/protocol/caps', NODE, `${NODE}+notify`].sort();
const VER = createHash('sha1').update(`client/pc//bench<${FEATURES.map((feature) => `${feature}<`).join('')}`).digest('base64');
const INFO_QUERY = `<query xmlns='${INFO}' node='${CAPS_NODE}#${VER}'><identity category='client' type='pc' name='bench'/>${FEATURES.map((feature) => `<feature var='${feature}'/>`).join('')}</query>`;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** What the worker lends this workload (worker.ts owns logins and closing). */
export interface WorkerTools {
  loginMany(count: number, concurrency: number, options: (index: number) => LoginOptions): Promise<{ clients: Array<XmppClient | undefined>; failed: number; errors: string[] }>;
  loginOptions(job: PresenceJob, target: Target, user: string, resource: string): LoginOptions;
  closeAll(clients: XmppClient[]): Promise<void>;
}

function publish(label: string): string {
  return `<iq type='set' id='${label.replace(/ /g, '-')}'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='${NODE}'><item id='current'><nick xmlns='${NODE}'>${label}</nick></item></publish></pubsub></iq>`;
}

export async function pepFanout(job: PresenceJob, tools: WorkerTools): Promise<PresenceResult> {
  const t0 = performance.now();
  const count = job.contacts.length;
  const all = [job.hub, ...job.contacts];
  const run = await tools.loginMany(all.length, job.concurrency, (i) => tools.loginOptions(job, job.targets[i % job.targets.length]!, all[i]!, 'bench'));
  const clients = run.clients.filter((c): c is XmppClient => c !== undefined);
  if (run.failed > 0) {
    await tools.closeAll(clients);
    throw new Error(`pep: ${run.failed} logins failed: ${run.errors.join('; ')}`);
  }
  const hub = run.clients[0]!;
  const domainPart = hub.bare.slice(hub.bare.indexOf('@'));
  const hubSees = new Set<string>();
  const contactSees = new Set<number>();
  let setupDone: (() => void) | undefined;
  const checkSetup = (): void => {
    if (hubSees.size === count && contactSees.size === count) setupDone?.();
  };
  let round = -1;
  let warm = '';
  const warmed = new Set<number>();
  let warmDone: (() => void) | undefined;
  const received = new Int32Array(job.rounds);
  const roundMax = new Float64Array(job.rounds);
  const deliveries = new Histogram();
  let roundDone: (() => void) | undefined;
  hub.onStanza = hubPresenceHandler(hub, hubSees, checkSetup);
  for (let i = 0; i < count; i++) {
    const contact = run.clients[i + 1]!;
    contact.onStanza = (xml) => {
      if (xml.startsWith('<iq') && attr(xml, 'type') === 'get' && xml.includes(INFO)) {
        contact.send(`<iq type='result' id='${attr(xml, 'id') ?? ''}' to='${attr(xml, 'from') ?? ''}'>${INFO_QUERY}</iq>`);
        return;
      }
      if (xml.startsWith('<message')) {
        const text = childText(xml, 'nick');
        if (text === undefined) return;
        if (text === warm) {
          warmed.add(i);
          if (warmed.size === count) warmDone?.();
          return;
        }
        const [word, k, sentAt] = text.split(' ');
        if (word !== 'round' || Number(k) !== round) return;
        const latency = performance.now() - Number(sentAt);
        deliveries.record(latency);
        if (latency > roundMax[round]!) roundMax[round] = latency;
        if (++received[round]! === count) roundDone?.();
        return;
      }
      if (!xml.startsWith('<presence')) return;
      const from = attr(xml, 'from') ?? '';
      if (!from.startsWith(hub.bare)) return;
      const type = attr(xml, 'type');
      if (type === 'subscribe') {
        contact.send(`<presence to='${hub.bare}' type='subscribed'/><presence to='${hub.bare}' type='subscribe'/>`);
      } else if (type === undefined) {
        contactSees.add(i);
        checkSetup();
      }
    };
  }
  const setup = new Promise<void>((resolve) => (setupDone = resolve));
  checkSetup();
  for (let i = 0; job.subscribe && i < count; i += 100) {
    hub.send(job.contacts.slice(i, i + 100).map((contact) => `<presence to='${contact}${domainPart}' type='subscribe'/>`).join(''));
    await sleep(5);
  }
  if (!(await Promise.race([setup.then(() => true), sleep(Math.min(job.timeoutMs, 60_000)).then(() => false)]))) {
    await tools.closeAll(clients);
    throw new Error(`pep: subscriptions not established in time (hub sees ${hubSees.size}, contacts see ${contactSees.size} of ${count})`);
  }
  // Caps with NODE+notify; then publish until every contact has an event (the servers resolve the ver meanwhile).
  for (let i = 0; i < count; i++) run.clients[i + 1]!.send(`<presence><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='${CAPS_NODE}' ver='${VER}'/></presence>`);
  let ready = false;
  for (let attempt = 0; attempt < 30 && !ready; attempt++) {
    warm = `warm ${attempt}`;
    warmed.clear();
    const done = new Promise<void>((resolve) => (warmDone = resolve));
    hub.send(publish(warm));
    ready = await Promise.race([done.then(() => true), sleep(1000).then(() => false)]);
  }
  if (!ready) {
    await tools.closeAll(clients);
    throw new Error(`pep: only ${warmed.size} of ${count} contacts get events after 30 s`);
  }
  const setupMs = performance.now() - t0;
  await sleep(500);
  const cpu0 = process.cpuUsage();
  const serverCpu0 = sumCpu(job.serverPids);
  const measureStart = performance.now();
  const complete = new Histogram();
  let missing = 0;
  for (let k = 0; k < job.rounds; k++) {
    round = k;
    const done = new Promise<void>((resolve) => (roundDone = resolve));
    hub.send(publish(`round ${k} ${performance.now().toFixed(3)}`));
    if (await Promise.race([done.then(() => true), sleep(10_000).then(() => false)])) complete.record(roundMax[k]!);
    else missing += count - received[k]!;
    await sleep(20);
  }
  round = -1;
  const used = process.cpuUsage(cpu0);
  const measureMs = performance.now() - measureStart;
  const serverCpuSeconds = sumCpu(job.serverPids) - serverCpu0;
  await tools.closeAll(clients);
  return { contacts: count, rounds: job.rounds, setupMs, complete: complete.toData(), deliveries: deliveries.toData(), missing, cpuMs: (used.user + used.system) / 1000, measureMs, serverCpuSeconds };
}
