// Helpers for the metrics tests: a real node started through the composition root, and a
// reader of the Prometheus text format (independent of prom-client's own output code).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer, type Socket } from 'node:net';
import { type Config, defaultConfig } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { type RunningNode, startNode } from '../../src/main.js';
import { deriveCredentials } from '../../src/sasl/credentials.js';
import { RawClient } from '../support/client.js';

export const PASSWORD = 'secret-password';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Scrape {
  status: number;
  contentType: string | null;
  /** Family name → type, from the `# TYPE` lines. */
  families: Map<string, string>;
  samples: Sample[];
}

export interface MetricsNode {
  node: RunningNode;
  config: Config;
  get(path: string): Promise<{ status: number; text: string }>;
  scrape(): Promise<Scrape>;
  createUser(local: string): Promise<string>;
  /** STARTTLS, PLAIN, bind. */
  login(local: string, password?: string): Promise<RawClient>;
  connect(): Promise<RawClient>;
  stop(): Promise<void>;
}

export async function startMetricsNode(config: Partial<Config> = {}): Promise<MetricsNode> {
  const full: Config = {
    ...defaultConfig(),
    s2sPort: 0, // no federation: test nodes on one machine would contend for 5269
    bindAddress: '127.0.0.1',
    c2sPort: 0,
    c2sTlsPort: 0,
    httpPort: 0,
    nodeId: `metrics-${randomBytes(3).toString('hex')}`,
    redisPrefix: `tm${randomBytes(4).toString('hex')}`,
    heartbeatMs: 200,
    sweepEveryMs: 200,
    // Without Redis the node keeps its store on disk: never in the working copy.
    dataDir: mkdtempSync(join(tmpdir(), 'rookery-metrics-')),
    ...config,
  };
  const node = await startNode(full, silentLogger());
  const clients: RawClient[] = [];
  const get = async (path: string): Promise<{ status: number; text: string; contentType: string | null }> => {
    const response = await fetch(`http://127.0.0.1:${node.httpPort}${path}`);
    return { status: response.status, text: await response.text(), contentType: response.headers.get('content-type') };
  };
  const connect = async (): Promise<RawClient> => {
    const client = await RawClient.connect({ port: node.server.ports().c2s, domain: full.domain });
    clients.push(client);
    return client;
  };
  return {
    node,
    config: full,
    get,
    async scrape() {
      const response = await get('/metrics');
      return { status: response.status, contentType: response.contentType, ...parseExposition(response.text) };
    },
    async createUser(local) {
      const jid = `${local}@${full.domain}`;
      await node.state.accounts.create(jid, await deriveCredentials(PASSWORD, 4096));
      return jid;
    },
    async login(local, password = PASSWORD) {
      const client = await connect();
      await client.login(local, password);
      return client;
    },
    connect,
    async stop() {
      for (const client of clients) client.destroy();
      await node.stop();
      rmSync(full.dataDir, { recursive: true, force: true });
    },
  };
}

/** The Prometheus text exposition format 0.0.4: `# TYPE` lines and samples. */
export function parseExposition(text: string): { families: Map<string, string>; samples: Sample[] } {
  const families = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ')) continue;
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      families.set(type[1] as string, type[2] as string);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/.exec(line);
    if (!sample) throw new Error(`not an exposition line: ${line}`);
    samples.push({ name: sample[1] as string, labels: parseLabels(sample[2] ?? ''), value: Number(sample[3]) });
  }
  return { families, samples };
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  const pattern = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/gy;
  let consumed = 0;
  let match: RegExpExecArray | null;
  while ((match = pattern.exec(text)) !== null) {
    labels[match[1] as string] = (match[2] as string).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    consumed = pattern.lastIndex;
  }
  if (consumed !== text.length) throw new Error(`bad label set: {${text}}`);
  return labels;
}

/** The sum of the samples named `name` whose labels include `labels`. */
export function valueOf(scrape: Scrape, name: string, labels: Record<string, string> = {}): number {
  return scrape.samples
    .filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value))
    .reduce((total, sample) => total + sample.value, 0);
}

/** Whether any sample named `name` exists (a family can be declared with no sample). */
export function hasSample(scrape: Scrape, name: string): boolean {
  return scrape.samples.some((sample) => sample.name === name);
}

/** Every series name a family exports: histograms add _bucket/_sum/_count, summaries _sum/_count. */
export function exportedNames(scrape: Scrape): Set<string> {
  const names = new Set<string>();
  for (const [family, type] of scrape.families) {
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(family + suffix);
    else if (type === 'summary') for (const suffix of ['', '_sum', '_count']) names.add(family + suffix);
    else names.add(family);
  }
  return names;
}

export interface TcpProxy {
  port: number;
  /** Where new connections go from now on (existing ones are cut). */
  retarget(port: number): void;
  close(): Promise<void>;
}

/**
 * A loopback TCP forwarder. A node pointed at it keeps its Redis URL while the test stops the
 * redis-server behind it and later puts a fresh one there, so the node can still shut down.
 */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  let target = targetPort;
  const sockets = new Set<Socket>();
  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  const server = createServer((client) => {
    track(client);
    const upstream = connect({ host: '127.0.0.1', port: target });
    track(upstream);
    client.pipe(upstream).pipe(client);
    const cut = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.once('error', cut).once('close', cut);
    upstream.once('error', cut).once('close', cut);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    retarget(port) {
      target = port;
      for (const socket of sockets) socket.destroy();
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
