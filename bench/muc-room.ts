// One large group chat room (XEP-0045) spread over the nodes of a Rookery cluster: how long a
// groupchat message takes to reach every occupant (p50/p99 over the messages of the run), the
// server CPU and the Redis commands per message, and how long one more occupant waits for the
// occupant list, the history and the subject. Rookery only (Prosody and ejabberd: not yet).
//   node --import tsx bench/muc-room.ts [--occupants 1000] [--nodes 3] [--messages 40] [--json FILE]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { XmppClient } from './lib/client.js';
import { Histogram, summarize } from './lib/hist.js';
import { commandOutput, cpuSeconds, loadAverage, machine, sleep } from './lib/proc.js';
import { startRookery } from './servers/rookery.js';

const { values } = parseArgs({
  options: {
    occupants: { type: 'string', default: '1000' },
    nodes: { type: 'string', default: '3' },
    messages: { type: 'string', default: '40' },
    json: { type: 'string' },
  },
});
const OCCUPANTS = Number(values.occupants);
const NODES = Number(values.nodes);
const MESSAGES = Number(values.messages);
const PASSWORD = 'bench-password';
const DOMAIN = 'localhost';
const ROOM = `big@conference.${DOMAIN}`;
const NS_MUC = 'http://jabber.org/protocol/muc';

const log = (line: string): void => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

function redisCommands(port: number): number {
  let total = 0;
  for (const line of commandOutput('redis-cli', ['-p', String(port), 'info', 'commandstats']).split(/\r?\n/)) {
    if (line.startsWith('cmdstat_')) total += Number(/calls=(\d+)/.exec(line)?.[1] ?? 0);
  }
  return total;
}

/** Resolves when `check` holds for a stanza the client receives. */
function waiter(): { next: (check: (xml: string) => boolean) => Promise<number>; feed: (xml: string) => void } {
  const pending = new Set<{ check: (xml: string) => boolean; resolve: (at: number) => void }>();
  return {
    next: (check) => new Promise((resolve) => pending.add({ check, resolve })),
    feed: (xml) => {
      for (const entry of pending) {
        if (!entry.check(xml)) continue;
        pending.delete(entry);
        entry.resolve(performance.now());
      }
    },
  };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'rookery-muc-bench-'));
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '7', '-subj', '/CN=localhost'], { stdio: 'ignore' });
  log(`machine: ${machine()}; load ${loadAverage()}; a room of ${OCCUPANTS} occupants over ${NODES} nodes`);
  const server = await startRookery('cluster', { dir, certFile, keyFile, domain: DOMAIN, log }, NODES);
  const clients: Array<{ client: XmppClient; wait: ReturnType<typeof waiter> }> = [];
  try {
    const users = Array.from({ length: OCCUPANTS + 1 }, (_, i) => `o${i}`);
    await server.createAccounts(users, PASSWORD);
    const login = async (i: number) => {
      const client = await XmppClient.login({ target: server.targets[i % NODES]!, user: users[i]!, password: PASSWORD, mechanism: 'PLAIN', starttls: false, resource: 'r', presence: false, timeoutMs: 60_000 });
      const wait = waiter();
      client.onStanza = wait.feed;
      return { client, wait };
    };
    const enter = async (entry: { client: XmppClient; wait: ReturnType<typeof waiter> }, nick: string): Promise<number> => {
      const started = performance.now();
      const subject = entry.wait.next((xml) => xml.includes('<subject'));
      entry.client.send(`<presence to='${ROOM}/${nick}'><x xmlns='${NS_MUC}'><history maxstanzas='20'/></x></presence>`);
      return (await subject) - started;
    };
    log(`logging ${OCCUPANTS} occupants in and entering the room (20 at a time)`);
    const owner = await login(0);
    clients.push(owner);
    await enter(owner, 'o0');
    log('room created');
    owner.client.send(`<iq type='set' id='cfg' to='${ROOM}'><query xmlns='${NS_MUC}#owner'><x xmlns='jabber:x:data' type='submit'><field var='muc#roomconfig_persistentroom'><value>1</value></field><field var='muc#roomconfig_maxusers'><value>${OCCUPANTS + 10}</value></field></x></query></iq>`);
    await owner.wait.next((xml) => xml.includes("id='cfg'") || xml.includes('id="cfg"'));
    for (let next = 1; next < OCCUPANTS; next += 20) {
      const batch = await Promise.all(Array.from({ length: Math.min(20, OCCUPANTS - next) }, (_, k) => login(next + k)));
      await Promise.all(batch.map((entry, k) => enter(entry, `o${next + k}`)));
      clients.push(...batch);
    }
    await sleep(2000);
    const pids = server.pids();
    const redisPort = server.redisPort!;
    const spread = new Histogram();
    const each = new Histogram();
    const cpu0 = pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
    const commands0 = redisCommands(redisPort);
    log(`${MESSAGES} groupchat messages, one at a time, from occupants on every node`);
    for (let m = 0; m < MESSAGES; m++) {
      const id = `bench${m}`;
      const arrivals = clients.map(({ wait }) => wait.next((xml) => xml.includes(`'${id}'`) || xml.includes(`"${id}"`)));
      const sender = clients[(m * 7919) % clients.length]!;
      const sent = performance.now();
      sender.client.send(`<message to='${ROOM}' type='groupchat' id='${id}'><body>message ${m}</body></message>`);
      const times = await Promise.all(arrivals);
      for (const at of times) each.record(at - sent);
      spread.record(Math.max(...times) - sent);
    }
    const cpu = pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0) - cpu0;
    const commands = redisCommands(redisPort) - commands0;
    const all = summarize(spread);
    const one = summarize(each);
    log(`until all ${OCCUPANTS} have it: p50 ${all.p50.toFixed(1)} ms, p99 ${all.p99.toFixed(1)} ms; per occupant p50 ${one.p50.toFixed(1)} ms, p99 ${one.p99.toFixed(1)} ms`);
    log(`server CPU per message: ${((cpu * 1000) / MESSAGES).toFixed(1)} ms over ${NODES} nodes; Redis commands per message (INFO commandstats, scripts' inner commands included, heartbeats too): ${(commands / MESSAGES).toFixed(1)}`);
    const newcomer = await login(OCCUPANTS);
    const joinMs = await enter(newcomer, `o${OCCUPANTS}`);
    clients.push(newcomer);
    log(`occupant number ${OCCUPANTS + 1}: occupant list, history and subject in ${joinMs.toFixed(0)} ms`);
    if (values.json) {
      writeFileSync(values.json, JSON.stringify({ occupants: OCCUPANTS, nodes: NODES, messages: MESSAGES, allReceivedMs: all, perOccupantMs: one, cpuMsPerMessage: (cpu * 1000) / MESSAGES, redisCommandsPerMessage: commands / MESSAGES, joinMs }, null, 2));
    }
  } finally {
    await Promise.all(clients.map(({ client }) => client.close(1000).catch(() => undefined)));
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
