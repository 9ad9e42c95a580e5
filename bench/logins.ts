// Logins per second and time to a usable session (#21) for three ways in, against one node with
// the in-process store, clients in the same process (so absolute figures are low; compare them):
//   (a) legacy: STARTTLS, SASL SCRAM-SHA-1, stream restart, bind             (4 round trips after TLS)
//   (b) SASL2 SCRAM-SHA-1 with Bind2 inside it                               (2 round trips after TLS)
//   (c) SASL2 FAST HT-SHA-256-NONE with an inline XEP-0198 <resume/>         (1 round trip after TLS)
// A client caches its SCRAM salted password (as Conversations and Monal do), so the figures are
// the server's and the protocol's, not PBKDF2 on the generator. Every login opens a new TCP+TLS
// connection; (c) resumes the session the previous login of that account left hibernating.
//
//   node --import tsx bench/logins.ts [seconds per scenario=5] [concurrency=20]
import { createHash, createHmac, pbkdf2Sync, randomBytes, randomUUID } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { defaultConfig } from '../src/config.js';
import { silentLogger } from '../src/log.js';
import { deriveCredentials } from '../src/sasl/credentials.js';
import { RookeryServer } from '../src/server.js';
import { createMemoryBackend } from '../src/state/memory/index.js';
import { attr, childText, elementName, type FrameSink, Framer } from './lib/framer.js';

const PASSWORD = 'bench-password';
const SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';
const SASL2 = 'urn:xmpp:sasl:2';
const SM = 'urn:xmpp:sm:3';
const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64');
const salted = new Map<string, Buffer>();

/** One connection: waits for top-level elements in order. */
class Conn implements FrameSink {
  private readonly framer = new Framer(this);
  private readonly waiting: ((xml: string) => void)[] = [];
  private readonly queue: string[] = [];
  private socket: Socket;
  roundTrips = 0;

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

  /** Header, STARTTLS, header: the round trips before these do not count. */
  async secure(): Promise<void> {
    await this.open();
    await this.ask(`<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>`);
    this.socket.removeAllListeners('data');
    const tls: TLSSocket = tlsConnect({ socket: this.socket, rejectUnauthorized: false, servername: 'localhost' });
    await new Promise<void>((resolve, reject) => tls.once('secureConnect', resolve).once('error', reject));
    this.socket = tls;
    this.listen(tls);
    await this.open();
    this.roundTrips = 0;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** SCRAM-SHA-1 client steps with a cached salted password; returns the two messages' answers. */
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

interface Device { user: string; agent: string; token?: string; previd?: string }

type Scenario = (port: number, device: Device) => Promise<number>;

const legacy: Scenario = async (port, { user }) => {
  const conn = new Conn(port);
  await conn.secure();
  const success = await scram(conn, user, (i) => `<auth xmlns='${SASL}' mechanism='SCRAM-SHA-1'>${i}</auth>`, (r) => `<response xmlns='${SASL}'>${r}</response>`);
  if (elementName(success) !== 'success') throw new Error(success);
  await conn.open();
  const bound = await conn.ask(`<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>bench</resource></bind></iq>`);
  if (attr(bound, 'type') !== 'result') throw new Error(bound);
  conn.destroy();
  return conn.roundTrips;
};

const sasl2: Scenario = async (port, { user, agent }) => {
  const conn = new Conn(port);
  await conn.secure();
  const inline = `<user-agent id='${agent}'/><bind xmlns='urn:xmpp:bind:0'><tag>bench</tag></bind>`;
  const success = await scram(conn, user, (i) => `<authenticate xmlns='${SASL2}' mechanism='SCRAM-SHA-1'><initial-response>${i}</initial-response>${inline}</authenticate>`, (r) => `<response xmlns='${SASL2}'>${r}</response>`);
  if (!success.includes('<bound')) throw new Error(success);
  conn.destroy();
  return conn.roundTrips;
};

/** Before (c): a password login that asks for a token and enables resumable stream management, then drops. */
async function prepare(port: number, device: Device): Promise<void> {
  const conn = new Conn(port);
  await conn.secure();
  const inline = `<user-agent id='${device.agent}'/><request-token xmlns='urn:xmpp:fast:0' mechanism='HT-SHA-256-NONE'/><bind xmlns='urn:xmpp:bind:0'><tag>bench</tag><enable xmlns='${SM}' resume='true'/></bind>`;
  const success = await conn.ask(`<authenticate xmlns='${SASL2}' mechanism='PLAIN'><initial-response>${b64(`\0${device.user}\0${PASSWORD}`)}</initial-response>${inline}</authenticate>`);
  device.token = /token='([^']+)'|token="([^"]+)"/.exec(success)?.slice(1).find(Boolean);
  device.previd = /<enabled[^>]* id=["']([^"']+)["']/.exec(success)?.[1];
  if (!device.token || !device.previd) throw new Error(success);
  conn.destroy();
}

const fastResume: Scenario = async (port, device) => {
  const conn = new Conn(port);
  await conn.secure();
  const mac = createHmac('sha256', Buffer.from(device.token as string)).update('Initiator').digest();
  const initial = Buffer.concat([Buffer.from(`${device.user}\0`), mac]).toString('base64');
  const inline = `<user-agent id='${device.agent}'/><fast xmlns='urn:xmpp:fast:0'/><resume xmlns='${SM}' previd='${device.previd}' h='0'/>`;
  const success = await conn.ask(`<authenticate xmlns='${SASL2}' mechanism='HT-SHA-256-NONE'><initial-response>${initial}</initial-response>${inline}</authenticate>`);
  if (!success.includes('<resumed')) throw new Error(success);
  conn.destroy();
  return conn.roundTrips;
};

async function run(name: string, scenario: Scenario, port: number, devices: Device[], seconds: number, concurrency: number): Promise<void> {
  const latencies: number[] = [];
  let roundTrips = 0;
  const deadline = Date.now() + seconds * 1000;
  await Promise.all(Array.from({ length: concurrency }, async (_, worker) => {
    // Each worker keeps to its own accounts in turn, so two logins never race for one session and
    // the server has noticed the previous connection of an account close before it comes back.
    const mine = devices.filter((_, i) => i % concurrency === worker);
    for (let next = 0; Date.now() < deadline; next++) {
      const device = mine[next % mine.length] as Device;
      const started = performance.now();
      roundTrips = await scenario(port, device);
      latencies.push(performance.now() - started);
    }
  }));
  latencies.sort((a, b) => a - b);
  const pct = (p: number): string => (latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0).toFixed(1);
  console.log(`${name.padEnd(34)} ${(latencies.length / seconds).toFixed(0).padStart(6)} logins/s  p50 ${pct(0.5)} ms  p99 ${pct(0.99)} ms  round trips after TLS: ${roundTrips}`);
}

const seconds = Number(process.argv[2] ?? 5);
const concurrency = Number(process.argv[3] ?? 20);
const state = createMemoryBackend();
const config = { ...defaultConfig(), bindAddress: '127.0.0.1', c2sPort: 0, c2sTlsPort: 0, httpPort: 0, nodeId: 'bench' };
const server = new RookeryServer(config, state, silentLogger());
await server.start();
const port = server.ports().c2s;
const devices: Device[] = [];
const credentials = await deriveCredentials(PASSWORD, config.scramIterations);
for (let i = 0; i < concurrency * 8; i++) {
  const user = `bench${i}`;
  await state.accounts.create(`${user}@localhost`, credentials);
  devices.push({ user, agent: randomUUID() });
}
console.log(`one node, in-process store, ${concurrency} concurrent clients, ${seconds} s each, SCRAM iterations ${config.scramIterations}`);
await run('(a) legacy SCRAM-SHA-1 + bind', legacy, port, devices, seconds, concurrency);
await run('(b) SASL2 SCRAM-SHA-1 + Bind2', sasl2, port, devices, seconds, concurrency);
for (const device of devices) await prepare(port, device);
await run('(c) FAST token + inline resume', fastResume, port, devices, seconds, concurrency);
await server.close();
process.exit(0);
