// Logins per second and time to a usable session (#21) for three ways in, against one node started
// through the composition root (src/main.ts) in a child process, so its CPU is measured apart from
// the generator's (on a shared, noisy machine the server CPU per login is the figure to compare):
//   (a) legacy: STARTTLS, SASL SCRAM-SHA-1, stream restart, bind             (4 round trips after TLS)
//   (b) SASL2 SCRAM-SHA-1 with Bind2 inside it                               (2 round trips after TLS)
//   (c) SASL2 FAST HT-SHA-256-NONE with an inline XEP-0198 <resume/>         (1 round trip after TLS)
// A client caches its SCRAM salted password (as Conversations and Monal do), so the figures are
// the server's and the protocol's, not PBKDF2 on the generator. Every login opens a new TCP
// connection; (c) resumes the session the previous login of that account left hibernating. With
// `--tls resumed` every client resumes the TLS session of its previous connection with its ticket,
// as a client reconnecting after a drain does (the ticket keys are shared by the nodes).
// After the timed runs, a few logins of each kind one after the other under Redis MONITOR give the
// Redis round trips of one login (commands the node sent; a script is one) and which they are.
//
// (0) is the floor every way in pays (the connection, STARTTLS and TLS, nothing else).
//
//   node --import tsx bench/logins.ts [--seconds 5] [--concurrency 20] [--store embedded|redis] [--tls full|resumed|both] [--only 0abc]
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { createHash, createHmac, pbkdf2Sync, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as netConnect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { attr, childText, elementName, type FrameSink, Framer } from './lib/framer.js';
import { loadAverage, waitFor, commandOutput } from './lib/proc.js';

const PASSWORD = 'bench-password';
const SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';
const SASL2 = 'urn:xmpp:sasl:2';
const SM = 'urn:xmpp:sm:3';
const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64');
const salted = new Map<string, Buffer>();

interface Device { user: string; agent: string; token?: string; previd?: string; tls?: Buffer }

/** One connection: waits for top-level elements in order. */
class Conn implements FrameSink {
  private readonly framer = new Framer(this);
  private readonly waiting: ((xml: string) => void)[] = [];
  private readonly queue: string[] = [];
  private socket: Socket;
  roundTrips = 0;
  /** performance.now() once the stream over TLS is open: the rest is the login proper. */
  secureAt = 0;
  resumedTls = false;

  constructor(port: number) {
    this.socket = netConnect({ port, host: '127.0.0.1', noDelay: true });
    this.listen(this.socket);
  }

  private listen(socket: Socket): void {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => this.framer.feed(chunk));
    socket.on('error', () => undefined);
  }

  header(): void {}
  end(): void {}
  element(xml: string): void {
    const next = this.waiting.shift();
    if (next) next(xml);
    else this.queue.push(xml);
  }

  next(): Promise<string> {
    const queued = this.queue.shift();
    return queued !== undefined ? Promise.resolve(queued) : new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Sends and waits for the answer: one round trip. */
  async ask(data: string): Promise<string> {
    this.roundTrips += 1;
    this.socket.write(data);
    return this.next();
  }

  async open(): Promise<string> {
    this.framer.reset();
    return this.ask(`<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>`);
  }

  /** Header, STARTTLS (resuming the device's TLS session when it has one), header: these round trips do not count. */
  async secure(device: Device, resume: boolean): Promise<void> {
    await this.open();
    await this.ask(`<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>`);
    this.socket.removeAllListeners('data');
    const tls: TLSSocket = tlsConnect({ socket: this.socket, rejectUnauthorized: false, servername: 'localhost', ...(resume && device.tls ? { session: device.tls } : {}) });
    tls.on('session', (session: Buffer) => (device.tls = session));
    await new Promise<void>((resolve, reject) => tls.once('secureConnect', resolve).once('error', reject));
    this.resumedTls = tls.isSessionReused();
    this.socket = tls;
    this.listen(tls);
    await this.open();
    this.roundTrips = 0;
    this.secureAt = performance.now();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** SCRAM-SHA-1 client steps with a cached salted password; returns the answer to the final message. */
async function scram(conn: Conn, user: string, first: (initial: string) => string, response: (data: string) => string): Promise<string> {
  const bare = `n=${user},r=${randomBytes(12).toString('base64')}`;
  const challenge = await conn.ask(first(b64(`n,,${bare}`)));
  const serverFirst = Buffer.from(childText(challenge, 'challenge') ?? challenge.replace(/<[^>]+>/g, ''), 'base64').toString();
  const fields = new Map(serverFirst.split(',').map((f) => [f.slice(0, 1), f.slice(2)]));
  const key = `${fields.get('s')}:${fields.get('i')}`;
  let salt = salted.get(key);
  if (!salt) salted.set(key, (salt = pbkdf2Sync(PASSWORD, Buffer.from(String(fields.get('s')), 'base64'), Number(fields.get('i')), 20, 'sha1')));
  const clientKey = createHmac('sha1', salt).update('Client Key').digest();
  const without = `c=biws,r=${fields.get('r')}`;
  const signature = createHmac('sha1', createHash('sha1').update(clientKey).digest()).update(`${bare},${serverFirst},${without}`).digest();
  const proof = Buffer.from(clientKey.map((byte, i) => byte ^ (signature[i] ?? 0)));
  return conn.ask(response(b64(`${without},p=${proof.toString('base64')}`)));
}

interface Login { roundTrips: number; afterTlsMs: number; resumedTls: boolean }
type Scenario = (port: number, device: Device, resumeTls: boolean) => Promise<Login>;

function done(conn: Conn): Login {
  const login = { roundTrips: conn.roundTrips, afterTlsMs: performance.now() - conn.secureAt, resumedTls: conn.resumedTls };
  conn.destroy();
  return login;
}

/** (0) the floor every way in pays: TCP, stream header, STARTTLS, TLS, stream header, close. */
const tlsOnly: Scenario = async (port, device, resumeTls) => {
  const conn = new Conn(port);
  await conn.secure(device, resumeTls);
  return done(conn);
};

const legacy: Scenario = async (port, device, resumeTls) => {
  const conn = new Conn(port);
  await conn.secure(device, resumeTls);
  const success = await scram(conn, device.user, (i) => `<auth xmlns='${SASL}' mechanism='SCRAM-SHA-1'>${i}</auth>`, (r) => `<response xmlns='${SASL}'>${r}</response>`);
  if (elementName(success) !== 'success') throw new Error(success);
  await conn.open();
  const bound = await conn.ask(`<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>bench</resource></bind></iq>`);
  if (attr(bound, 'type') !== 'result') throw new Error(bound);
  return done(conn);
};

const sasl2: Scenario = async (port, device, resumeTls) => {
  const conn = new Conn(port);
  await conn.secure(device, resumeTls);
  const inline = `<user-agent id='${device.agent}'/><bind xmlns='urn:xmpp:bind:0'><tag>bench</tag></bind>`;
  const success = await scram(conn, device.user, (i) => `<authenticate xmlns='${SASL2}' mechanism='SCRAM-SHA-1'><initial-response>${i}</initial-response>${inline}</authenticate>`, (r) => `<response xmlns='${SASL2}'>${r}</response>`);
  if (!success.includes('<bound')) throw new Error(success);
  return done(conn);
};

/** Before (c): a password login that asks for a token and enables resumable stream management, then drops. */
async function prepare(port: number, device: Device): Promise<void> {
  const conn = new Conn(port);
  await conn.secure(device, false);
  const inline = `<user-agent id='${device.agent}'/><request-token xmlns='urn:xmpp:fast:0' mechanism='HT-SHA-256-NONE'/><bind xmlns='urn:xmpp:bind:0'><tag>bench</tag><enable xmlns='${SM}' resume='true'/></bind>`;
  const success = await conn.ask(`<authenticate xmlns='${SASL2}' mechanism='PLAIN'><initial-response>${b64(`\0${device.user}\0${PASSWORD}`)}</initial-response>${inline}</authenticate>`);
  device.token = /token='([^']+)'|token="([^"]+)"/.exec(success)?.slice(1).find(Boolean);
  device.previd = /<enabled[^>]* id=["']([^"']+)["']/.exec(success)?.[1];
  if (!device.token || !device.previd) throw new Error(success);
  conn.destroy();
}

const fastResume: Scenario = async (port, device, resumeTls) => {
  const conn = new Conn(port);
  await conn.secure(device, resumeTls);
  const mac = createHmac('sha256', Buffer.from(device.token as string)).update('Initiator').digest();
  const initial = Buffer.concat([Buffer.from(`${device.user}\0`), mac]).toString('base64');
  const inline = `<user-agent id='${device.agent}'/><fast xmlns='urn:xmpp:fast:0'/><resume xmlns='${SM}' previd='${device.previd}' h='0'/>`;
  const success = await conn.ask(`<authenticate xmlns='${SASL2}' mechanism='HT-SHA-256-NONE'><initial-response>${initial}</initial-response>${inline}</authenticate>`);
  if (!success.includes('<resumed')) throw new Error(success);
  return done(conn);
};

// ── the server, in a child process ──

interface Ready { port: number; pid: number }
type FromServer = { ready: Ready } | { cpu: number };

async function serve(store: string, redisUrl: string | undefined, accounts: number): Promise<void> {
  const { defaultConfig } = await import('../src/config.js');
  const { silentLogger } = await import('../src/log.js');
  const { startNode } = await import('../src/main.js');
  const { deriveCredentials } = await import('../src/sasl/credentials.js');
  const dataDir = mkdtempSync(join(tmpdir(), 'rookery-logins-'));
  const config = {
    ...defaultConfig(), bindAddress: '127.0.0.1', c2sPort: 0, c2sTlsPort: 0, httpPort: 0, s2sPort: 0, nodeId: 'bench', dataDir,
    ...(store === 'redis' ? { redisUrl, redisPrefix: 'logins' } : {}),
  };
  const node = await startNode(config, silentLogger());
  const credentials = await deriveCredentials(PASSWORD, config.scramIterations);
  for (let i = 0; i < accounts; i++) await node.state.accounts.create(`bench${i}@localhost`, credentials);
  const send = (message: FromServer): void => void process.send?.(message);
  process.on('message', (message: string) => {
    if (message === 'cpu') {
      const { user, system } = process.cpuUsage();
      send({ cpu: (user + system) / 1000 });
    } else if (message === 'stop') {
      void node.stop().finally(() => {
        rmSync(dataDir, { recursive: true, force: true });
        process.exit(0);
      });
    }
  });
  send({ ready: { port: node.server.ports().c2s, pid: process.pid } });
}

class ServerProcess {
  private constructor(private readonly child: ChildProcess, readonly ready: Ready) {}

  static async start(store: string, redisUrl: string | undefined, accounts: number): Promise<ServerProcess> {
    const child = fork(fileURLToPath(import.meta.url), ['--serve', store, '--redis', redisUrl ?? '', '--accounts', String(accounts)], {
      // e.g. LOGINS_SERVER_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' (bench/profile-summary.ts reads it)
      execArgv: ['--import', 'tsx', ...(process.env.LOGINS_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean)],
    });
    const ready = await new Promise<Ready>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`the server exited with ${code}`)));
      child.on('message', (message: FromServer) => 'ready' in message && resolve(message.ready));
    });
    return new ServerProcess(child, ready);
  }

  /** CPU milliseconds the server process has used so far. */
  cpu(): Promise<number> {
    return new Promise((resolve) => {
      const listener = (message: FromServer): void => {
        if (!('cpu' in message)) return;
        this.child.off('message', listener);
        resolve(message.cpu);
      };
      this.child.on('message', listener);
      this.child.send('cpu');
    });
  }

  async stop(): Promise<void> {
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.send('stop');
    await exited;
  }
}

// ── the generator ──

interface Figures { name: string; rate: number; p50: number; p99: number; afterTlsP50: number; roundTrips: number; serverCpuMs: number; resumedTls: number }

async function run(name: string, scenario: Scenario, server: ServerProcess, devices: Device[], seconds: number, concurrency: number, resumeTls: boolean): Promise<Figures> {
  const port = server.ready.port;
  const latencies: number[] = [];
  const afterTls: number[] = [];
  let roundTrips = 0;
  let resumed = 0;
  // Each device connects once before timing starts, so every timed login of `resumed` has a ticket.
  if (resumeTls) for (const device of devices) if (!device.tls) await scenario(port, device, false);
  const cpuBefore = await server.cpu();
  const started = performance.now();
  const deadline = Date.now() + seconds * 1000;
  await Promise.all(Array.from({ length: concurrency }, async (_, worker) => {
    // Each worker keeps to its own accounts in turn, so two logins never race for one session and
    // the server has noticed the previous connection of an account close before it comes back.
    const mine = devices.filter((_, i) => i % concurrency === worker);
    for (let next = 0; Date.now() < deadline; next++) {
      const device = mine[next % mine.length] as Device;
      const begun = performance.now();
      const login = await scenario(port, device, resumeTls);
      latencies.push(performance.now() - begun);
      afterTls.push(login.afterTlsMs);
      roundTrips = login.roundTrips;
      if (login.resumedTls) resumed += 1;
    }
  }));
  const wallMs = performance.now() - started;
  const serverCpuMs = (await server.cpu()) - cpuBefore;
  const pct = (values: number[], p: number): number => values.sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))] ?? 0;
  const figures = {
    name, rate: (latencies.length * 1000) / wallMs, p50: pct(latencies, 0.5), p99: pct(latencies, 0.99), afterTlsP50: pct(afterTls, 0.5),
    roundTrips, serverCpuMs: serverCpuMs / latencies.length, resumedTls: resumed / latencies.length,
  };
  console.log(
    `${name.padEnd(34)} ${figures.rate.toFixed(0).padStart(5)} logins/s  p50 ${figures.p50.toFixed(1)} ms  p99 ${figures.p99.toFixed(1)} ms  `
    + `after TLS p50 ${figures.afterTlsP50.toFixed(1)} ms  round trips after TLS ${roundTrips}  server CPU ${figures.serverCpuMs.toFixed(2)} ms/login  TLS resumed ${(figures.resumedTls * 100).toFixed(0)} %`,
  );
  return figures;
}

/** Redis round trips of one login of each kind: `count` logins one after the other under MONITOR. */
async function redisCommands(redisPort: number, server: ServerProcess, devices: Device[], count: number): Promise<void> {
  const scenarios: Array<[string, Scenario]> = [['(a) legacy', legacy], ['(b) SASL2 + Bind2', sasl2], ['(c) FAST + resume', fastResume]];
  for (const [name, scenario] of scenarios) {
    const sample = devices.slice(0, count);
    if (scenario === fastResume) for (const device of sample) await prepare(server.ready.port, device);
    const monitor = spawn('redis-cli', ['-p', String(redisPort), 'monitor'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const lines: string[] = [];
    let partial = '';
    monitor.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      lines.push(...parts);
    });
    await waitFor(() => lines.some((line) => line === 'OK'), 5000, 'redis-cli monitor');
    const from = lines.length;
    for (const device of sample) await scenario(server.ready.port, device, false);
    // MONITOR lags a little behind: wait until a marker written after the logins shows.
    const marker = `logins-marker-${randomUUID()}`;
    commandOutput('redis-cli', ['-p', String(redisPort), 'echo', marker]);
    await waitFor(() => lines.some((line) => line.includes(marker)), 5000, 'the MONITOR marker');
    monitor.kill();
    const sent = lines.slice(from).filter((line) => !line.includes('[0 lua]') && !line.includes(marker) && /"[a-zA-Z]+"/.test(line));
    if (process.env.LOGINS_MONITOR_DUMP) for (const line of sent) console.log(`    ${line.slice(0, 160)}`);
    const names = new Map<string, number>();
    for (const line of sent) {
      const command = /"([a-zA-Z]+)"(?: "([^"]*)")?/.exec(line);
      const label = command?.[1]?.toLowerCase() === 'evalsha' ? 'evalsha' : (command?.[1] ?? '?').toLowerCase();
      names.set(label, (names.get(label) ?? 0) + 1);
    }
    const list = [...names.entries()].sort((a, b) => b[1] - a[1]).map(([command, n]) => `${command} ${(n / count).toFixed(1)}`).join(', ');
    console.log(`${name.padEnd(20)} Redis round trips per login ${(sent.length / count).toFixed(1)}  (${list}; background included)`);
  }
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '5' }, concurrency: { type: 'string', default: '20' }, store: { type: 'string', default: 'embedded' },
      tls: { type: 'string', default: 'both' }, only: { type: 'string', default: '0abc' }, serve: { type: 'string' }, redis: { type: 'string' }, accounts: { type: 'string' }, monitor: { type: 'string', default: '20' },
    },
  });
  if (values.serve !== undefined) return serve(values.serve, values.redis || undefined, Number(values.accounts));
  const seconds = Number(values.seconds);
  const concurrency = Number(values.concurrency);
  const accounts = concurrency * 8;
  let redis: ChildProcess | undefined;
  let redisPort: number | undefined;
  if (values.store === 'redis') {
    redisPort = await freePort();
    redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    const port = redisPort;
    await waitFor(() => commandOutput('redis-cli', ['-p', String(port), 'ping']) === 'PONG', 10_000, 'redis-server');
  }
  const server = await ServerProcess.start(String(values.store), redisPort === undefined ? undefined : `redis://127.0.0.1:${redisPort}`, accounts);
  try {
    const devices: Device[] = Array.from({ length: accounts }, (_, i) => ({ user: `bench${i}`, agent: randomUUID() }));
    console.log(`${new Date().toISOString()}  load average ${loadAverage()}  one node (${values.store === 'redis' ? 'Redis' : 'embedded store'}) in its own process, ${concurrency} concurrent clients, ${seconds} s each`);
    const modes = values.tls === 'both' ? [false, true] : [values.tls === 'resumed'];
    for (const resumeTls of modes) {
      const tls = resumeTls ? 'TLS resumed' : 'full TLS';
      const only = String(values.only);
      const floor = only.includes('0') ? await run(`(0) connection + STARTTLS only, ${tls}`, tlsOnly, server, devices, seconds, concurrency, resumeTls) : undefined;
      const a = only.includes('a') ? await run(`(a) legacy SCRAM + bind, ${tls}`, legacy, server, devices, seconds, concurrency, resumeTls) : undefined;
      const b = only.includes('b') ? await run(`(b) SASL2 SCRAM + Bind2, ${tls}`, sasl2, server, devices, seconds, concurrency, resumeTls) : undefined;
      if (only.includes('c')) for (const device of devices) await prepare(server.ready.port, device);
      const c = only.includes('c') ? await run(`(c) FAST + inline resume, ${tls}`, fastResume, server, devices, seconds, concurrency, resumeTls) : undefined;
      if (a && b && c) console.log(`  ${tls}: (c)/(a) logins/s ${(c.rate / a.rate).toFixed(2)}×, server CPU per login (a)/(c) ${(a.serverCpuMs / c.serverCpuMs).toFixed(2)}×; (b)/(a) ${(b.rate / a.rate).toFixed(2)}×, ${(a.serverCpuMs / b.serverCpuMs).toFixed(2)}×`);
      if (a && c && floor) console.log(`  ${tls}: server CPU beyond the connection and TLS: (a) ${(a.serverCpuMs - floor.serverCpuMs).toFixed(2)} ms, (c) ${(c.serverCpuMs - floor.serverCpuMs).toFixed(2)} ms, (a)/(c) ${((a.serverCpuMs - floor.serverCpuMs) / (c.serverCpuMs - floor.serverCpuMs)).toFixed(2)}×`);
    }
    if (redisPort !== undefined) await redisCommands(redisPort, server, devices, Number(values.monitor));
    console.log(`load average at the end ${loadAverage()}`);
  } finally {
    await server.stop();
    redis?.kill();
  }
}

await main();
