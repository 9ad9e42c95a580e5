// What one idle session costs a node, over TCP and over WebSocket (RFC 7395), measured after a
// full garbage collection: the RSS of `idle`/`ws-idle` (bench/run.ts) also counts garbage the
// node has not collected yet, which varies with the machine's load. Each transport gets a fresh
// node on the embedded store, started with the inspector on loopback; before and after N clients
// log in (SCRAM-SHA-1, initial presence, then idle), the tool asks the node for a collection
// (HeapProfiler.collectGarbage) and for process.memoryUsage().
//
//     node --import tsx bench/session-memory.ts [--sessions 2000] [--transports tcp,websocket]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { XmppClient } from './lib/client.js';
import { startRookery } from './servers/rookery.js';

const { values: args } = parseArgs({
  options: {
    sessions: { type: 'string', default: '2000' },
    transports: { type: 'string', default: 'tcp,websocket' },
  },
});
const SESSIONS = Number(args.sessions);
const PASSWORD = 'session-memory';
const IN_FLIGHT = 50;

interface Usage {
  rss: number;
  heapUsed: number;
  external: number;
}

/** A free loopback port for the inspector. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** The node's memory after a full collection, through its inspector. */
async function collectedUsage(inspectorPort: number): Promise<Usage> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json()) as Array<{ webSocketDebuggerUrl: string }>;
  const url = targets[0]?.webSocketDebuggerUrl;
  if (url === undefined) throw new Error('the node lists no inspector target');
  const socket = new WebSocket(url);
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  let id = 0;
  const call = (method: string, params: object = {}): Promise<{ result?: { result?: { value?: string } } }> =>
    new Promise((resolve) => {
      const mine = ++id;
      const onMessage = (data: Buffer): void => {
        const reply = JSON.parse(data.toString()) as { id?: number };
        if (reply.id !== mine) return;
        socket.off('message', onMessage);
        resolve(reply as { result?: { result?: { value?: string } } });
      };
      socket.on('message', onMessage);
      socket.send(JSON.stringify({ id: mine, method, params }));
    });
  try {
    // Twice: what the first collection frees may hold more that only the second finds unreachable.
    await call('HeapProfiler.collectGarbage');
    await call('HeapProfiler.collectGarbage');
    const answer = await call('Runtime.evaluate', { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true });
    return JSON.parse(answer.result?.result?.value ?? '{}') as Usage;
  } finally {
    socket.close();
  }
}

async function measure(transport: 'tcp' | 'websocket', dir: string, certFile: string, keyFile: string): Promise<{ rss: number; heap: number; external: number }> {
  const inspectorPort = await freePort();
  const server = await startRookery('embedded', { dir: join(dir, transport), certFile, keyFile, domain: 'localhost', log: console.log, nodeArgs: [`--inspect=127.0.0.1:${inspectorPort}`] });
  const clients: XmppClient[] = [];
  try {
    const users = Array.from({ length: SESSIONS }, (_, i) => `idle${i}`);
    await server.createAccounts(users, PASSWORD);
    const before = await collectedUsage(inspectorPort);
    for (let i = 0; i < users.length; i += IN_FLIGHT) {
      const batch = users.slice(i, i + IN_FLIGHT).map((user) =>
        XmppClient.login({ target: server.targets[0] as NonNullable<(typeof server.targets)[0]>, user, password: PASSWORD, mechanism: 'SCRAM-SHA-1', starttls: false, resource: 'idle', presence: true, timeoutMs: 30_000, webSocket: transport === 'websocket' }),
      );
      clients.push(...(await Promise.all(batch)));
    }
    const after = await collectedUsage(inspectorPort);
    const per = (key: keyof Usage): number => (after[key] - before[key]) / SESSIONS / 1024;
    return { rss: per('rss'), heap: per('heapUsed'), external: per('external') };
  } finally {
    await Promise.all(clients.map((client) => client.close()));
    await server.stop();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'rookery-session-memory-'));
try {
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '7', '-subj', '/CN=localhost'], { stdio: 'ignore' });
  const rows: string[] = [];
  for (const transport of args.transports.split(',').map((name) => name.trim()) as Array<'tcp' | 'websocket'>) {
    const { rss, heap, external } = await measure(transport, dir, certFile, keyFile);
    rows.push(`| ${transport} | ${SESSIONS} | ${rss.toFixed(1)} | ${heap.toFixed(1)} | ${external.toFixed(2)} |`);
  }
  console.log(['', '| transport | sessions | RSS per session after GC, KiB | heap per session, KiB | external per session, KiB |', '|---|---|---|---|---|', ...rows].join('\n'));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
