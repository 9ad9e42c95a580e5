// A whole cluster on localhost, for trying Rookery, for benchmarks and for the rolling-restart
// test: one redis-server, N Rookery nodes, and HAProxy balancing the client ports over them
// (TCP, health-checked on /readyz, with a stats page that tells whether it sees each node up).
// HAProxy sends the PROXY protocol (v2) to the nodes, which trust it from 127.0.0.1 only, so
// that each node sees, limits and logs every client by its own address.
// `npm run cluster -- --nodes 3` (`--help` lists the flags); Ctrl-C stops everything.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as netConnect, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from 'selfsigned';

/** How HAProxy checks the nodes' /readyz: every `intervalMs`, down after `fall` failures, up after `rise` successes. */
export interface HealthCheck {
  intervalMs: number;
  fall: number;
  rise: number;
}

export interface LocalClusterOptions {
  nodes: number;
  /** The balanced STARTTLS port. 0: a free port. */
  port: number;
  /** The balanced direct TLS port. Default: the next one after `port` (a free one when `port` is 0). */
  tlsPort?: number;
  /** 0: a free port. */
  redisPort: number;
  /** HAProxy's stats page (HTTP). 0: a free port. */
  statsPort?: number;
  /** First port of the nodes' own ports (each node takes three). 0: free ports. */
  nodeBasePort: number;
  domain: string;
  /** Extra environment for every node (e.g. short drain and heartbeat settings). */
  env?: Record<string, string>;
  log?: (line: string) => void;
  /**
   * The nodes' and HAProxy's output: 'inherit' (stderr shown, the default), 'capture' (kept,
   * see output(), for failure reports), or 'ignore'.
   */
  output?: 'inherit' | 'capture' | 'ignore';
  /** Default: every second, down after 2 failures, up after 1 success. */
  check?: HealthCheck;
  /** Start the nodes together rather than one after the other (default true). */
  parallelStart?: boolean;
  /** Redis keeps an append-only file (fsync every second), so restartRedis() brings the data back. Default false. */
  redisAppendOnly?: boolean;
}

export interface NodeHandle {
  index: number;
  id: string;
  c2sPort: number;
  c2sTlsPort: number;
  httpPort: number;
  /** The running process; undefined while the node is stopped. */
  process: ChildProcess | undefined;
}

/** What HAProxy's stats say about a node ('UP', 'DOWN', 'NOLB', 'MAINT', 'UP 1/2', …). */
export type BalancerStatus = string;

export interface LocalCluster {
  redisUrl: string;
  /** The key prefix the nodes use. */
  prefix: string;
  domain: string;
  /** The balanced ports: STARTTLS, and direct TLS. */
  port: number;
  tlsPort: number;
  /** HAProxy's stats page (`/stats`, `/stats;csv`). */
  statsPort: number;
  nodes: NodeHandle[];
  /** Stops node i with SIGTERM (it drains) and waits for it to exit; resolves with how long that took (ms). */
  stopNode(index: number): Promise<number>;
  /** Kills node i with SIGKILL and waits for it to be gone. */
  killNode(index: number): Promise<void>;
  /** Starts node i again with the same id and ports; resolves once it is ready and HAProxy sees it up. */
  startNode(index: number): Promise<void>;
  /** Freezes node i (SIGSTOP): its sockets stay open, it answers nothing. */
  freezeNode(index: number): void;
  /** Lets a frozen node i go on (SIGCONT). */
  thawNode(index: number): void;
  /**
   * Kills redis-server with SIGKILL and starts it again on the same port and directory; resolves
   * once it answers, `downMs` later. With redisAppendOnly it reloads its append-only file,
   * otherwise it starts empty.
   */
  restartRedis(downMs?: number): Promise<void>;
  /** HAProxy's view of node i on the STARTTLS backend. */
  balancerStatus(index: number): Promise<BalancerStatus | undefined>;
  /** Waits until HAProxy reports node i as `status` ('UP' or 'DOWN') on both backends. */
  waitForBalancer(index: number, status: 'UP' | 'DOWN', timeoutMs?: number): Promise<void>;
  /** The captured output of the nodes and HAProxy (with output 'capture'). */
  output(): string;
  stop(): Promise<void>;
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DEFAULT_CHECK: HealthCheck = { intervalMs: 1000, fall: 2, rise: 1 };
const READY_TIMEOUT_MS = 60_000;
const OUTPUT_LIMIT = 4 * 1024 * 1024;

export function defaultOptions(): LocalClusterOptions {
  return { nodes: 3, port: 5222, redisPort: 6390, nodeBasePort: 15300, domain: 'localhost' };
}

export async function startLocalCluster(options: LocalClusterOptions): Promise<LocalCluster> {
  const log = options.log ?? ((line: string) => console.log(line));
  const mode = options.output ?? 'inherit';
  const check = options.check ?? DEFAULT_CHECK;
  requireCommand('redis-server', 'redis-server');
  requireCommand('haproxy', 'haproxy');
  const dir = mkdtempSync(join(tmpdir(), 'rookery-cluster-'));
  const children: ChildProcess[] = [];
  const captured = new Map<string, string>();
  const capture = (name: string, child: ChildProcess): void => {
    if (mode !== 'capture') return;
    const append = (chunk: Buffer): void => {
      const text = (captured.get(name) ?? '') + chunk.toString();
      captured.set(name, text.length > OUTPUT_LIMIT ? text.slice(-OUTPUT_LIMIT) : text);
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
  };
  const stdio = (): ['ignore', 'ignore' | 'pipe', 'inherit' | 'ignore' | 'pipe'] =>
    mode === 'capture' ? ['ignore', 'pipe', 'pipe'] : ['ignore', 'ignore', mode === 'inherit' ? 'inherit' : 'ignore'];

  const [redisPort, port, tlsPort, statsPort] = (await ports(options.redisPort, options.port, options.tlsPort ?? (options.port === 0 ? 0 : options.port + 1), options.statsPort ?? 0)) as [number, number, number, number];
  const nodePorts: Array<[number, number, number]> = [];
  for (let index = 0; index < options.nodes; index++) {
    const base = options.nodeBasePort + index * 3;
    nodePorts.push((await ports(...(options.nodeBasePort === 0 ? [0, 0, 0] : [base, base + 1, base + 2]))) as [number, number, number]);
  }

  const redisArgs = ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', options.redisAppendOnly === true ? 'yes' : 'no', '--appendfsync', 'everysec', '--dir', dir];
  let redis = spawn('redis-server', redisArgs, { stdio: stdio() });
  capture('redis', redis);
  children.push(redis);
  const redisUrl = `redis://127.0.0.1:${redisPort}`;
  const nodes: NodeHandle[] = [];
  const cleanUp = (): void => {
    for (const node of nodes) node.process?.kill('SIGKILL');
    for (const child of children) child.kill('SIGKILL');
  };
  process.once('exit', cleanUp);
  try {
    await waitFor(() => portAnswers(redisPort), 10_000, 'redis-server');

    // One certificate for every node, so that no node spends its start-up generating one.
    const tls = await generate([{ name: 'commonName', value: options.domain }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: options.domain }] }],
    });
    writeFileSync(join(dir, 'cert.pem'), tls.cert);
    writeFileSync(join(dir, 'key.pem'), tls.private);

    for (let index = 0; index < options.nodes; index++) {
      const [c2sPort, c2sTlsPort, httpPort] = nodePorts[index] as [number, number, number];
      nodes.push({ index, id: `node${index}`, c2sPort, c2sTlsPort, httpPort, process: undefined });
    }
    const launch = async (node: NodeHandle): Promise<void> => {
      if (node.process) throw new Error(`${node.id} is already running`);
      const child = spawn(process.execPath, [join(ROOT, 'bin/rookery.js'), 'start'], {
        cwd: ROOT,
        stdio: stdio(),
        env: {
          ...process.env,
          // Every client comes through HAProxy, which names it in a PROXY header: the per-address
          // limits count each client by its own address, and only HAProxy (127.0.0.1) may send one.
          ROOKERY_C2S_PROXY_PROTOCOL: 'true',
          ROOKERY_C2S_TLS_PROXY_PROTOCOL: 'true',
          ROOKERY_TRUSTED_PROXIES: '127.0.0.1',
          ROOKERY_REDIS_URL: redisUrl,
          ROOKERY_NODE_ID: node.id,
          ROOKERY_DOMAIN: options.domain,
          ROOKERY_BIND_ADDRESS: '127.0.0.1',
          ROOKERY_C2S_PORT: String(node.c2sPort),
          ROOKERY_C2S_TLS_PORT: String(node.c2sTlsPort),
          ROOKERY_S2S_PORT: process.env.ROOKERY_S2S_PORT ?? '0', // no federation: nodes on one machine would contend for 5269
          ROOKERY_HTTP_PORT: String(node.httpPort),
          ROOKERY_TLS_CERT: join(dir, 'cert.pem'),
          ROOKERY_TLS_KEY: join(dir, 'key.pem'),
          ...options.env,
        },
      });
      node.process = child;
      capture(node.id, child);
      let exited = false;
      child.once('exit', () => {
        exited = true;
        if (node.process === child) node.process = undefined;
      });
      await waitFor(
        async () => {
          if (exited) throw new Error(`${node.id} exited during start-up${mode === 'capture' ? `:\n${captured.get(node.id) ?? ''}` : ''}`);
          return (await fetch(`http://127.0.0.1:${node.httpPort}/readyz`).catch(() => undefined))?.ok === true;
        },
        READY_TIMEOUT_MS,
        node.id,
      );
    };
    if (options.parallelStart === false) {
      for (const node of nodes) await launch(node);
    } else {
      await Promise.all(nodes.map((node) => launch(node)));
    }

    const haproxyConfig = join(dir, 'haproxy.cfg');
    writeFileSync(haproxyConfig, haproxyConfigText({ port, tlsPort, statsPort, check }, nodes));
    const haproxy = spawn('haproxy', ['-f', haproxyConfig, '-db'], { stdio: stdio() });
    capture('haproxy', haproxy);
    children.push(haproxy);
    await waitFor(
      async () => {
        if (haproxy.exitCode !== null) throw new Error(`haproxy exited${mode === 'capture' ? `:\n${captured.get('haproxy') ?? ''}` : ''}`);
        return portAnswers(port);
      },
      10_000,
      'haproxy',
    );

    const csv = async (): Promise<Array<Record<string, string>>> => {
      const response = await fetch(`http://127.0.0.1:${statsPort}/stats;csv`);
      const [header, ...lines] = (await response.text()).trim().split('\n');
      const columns = (header ?? '').replace(/^# /, '').split(',');
      return lines.map((line) => Object.fromEntries(line.split(',').map((value, i) => [columns[i] ?? String(i), value])));
    };
    const statuses = async (index: number): Promise<string[]> => {
      const id = (nodes[index] as NodeHandle).id;
      return (await csv()).filter((row) => row.svname === id && (row.pxname === 'c2s_nodes' || row.pxname === 'c2s_tls_nodes')).map((row) => row.status ?? '');
    };
    const waitForBalancer = async (index: number, status: 'UP' | 'DOWN', timeoutMs = 30_000): Promise<void> => {
      await waitFor(
        async () => {
          const seen = await statuses(index).catch(() => []);
          return seen.length === 2 && seen.every((value) => value === status);
        },
        timeoutMs,
        `HAProxy seeing node${index} ${status}`,
      );
    };
    for (let index = 0; index < nodes.length; index++) await waitForBalancer(index, 'UP');

    log(`redis: ${redisUrl}`);
    for (const node of nodes) log(`${node.id}: c2s ${node.c2sPort}, direct TLS ${node.c2sTlsPort}, http ${node.httpPort}`);
    log(`clients: ${options.domain} at 127.0.0.1:${port} (STARTTLS) or 127.0.0.1:${tlsPort} (direct TLS); HAProxy stats at http://127.0.0.1:${statsPort}/stats`);

    const exitOf = (node: NodeHandle): Promise<void> | undefined => {
      const child = node.process;
      if (!child || child.exitCode !== null || child.signalCode !== null) return undefined;
      return new Promise((resolve) => child.once('exit', () => resolve()));
    };
    const stopNode = async (index: number): Promise<number> => {
      const node = nodes[index] as NodeHandle;
      const exited = exitOf(node);
      if (!exited) return 0;
      const started = Date.now();
      node.process?.kill('SIGCONT'); // a frozen node would not act on SIGTERM
      node.process?.kill('SIGTERM');
      // The drain is bounded by the node's own setting; this is only a last resort.
      const timer = setTimeout(() => node.process?.kill('SIGKILL'), 120_000);
      await exited;
      clearTimeout(timer);
      return Date.now() - started;
    };
    const killNode = async (index: number): Promise<void> => {
      const node = nodes[index] as NodeHandle;
      const exited = exitOf(node);
      if (!exited) return;
      node.process?.kill('SIGKILL');
      await exited;
    };
    let stopping: Promise<void> | undefined;
    return {
      redisUrl,
      prefix: options.env?.ROOKERY_REDIS_PREFIX ?? 'rk',
      domain: options.domain,
      port,
      tlsPort,
      statsPort,
      nodes,
      stopNode,
      killNode,
      async startNode(index) {
        await launch(nodes[index] as NodeHandle);
        await waitForBalancer(index, 'UP');
      },
      freezeNode(index) {
        (nodes[index] as NodeHandle).process?.kill('SIGSTOP');
      },
      thawNode(index) {
        (nodes[index] as NodeHandle).process?.kill('SIGCONT');
      },
      async restartRedis(downMs = 0) {
        const old = redis;
        if (old.exitCode === null && old.signalCode === null) {
          const exited = new Promise((resolve) => old.once('exit', resolve));
          old.kill('SIGKILL');
          await exited;
        }
        await new Promise((resolve) => setTimeout(resolve, downMs));
        redis = spawn('redis-server', redisArgs, { stdio: stdio() });
        capture('redis', redis);
        children[children.indexOf(old)] = redis;
        await waitFor(() => portAnswers(redisPort), 10_000, 'redis-server restarted');
      },
      async balancerStatus(index) {
        return (await statuses(index))[0];
      },
      waitForBalancer,
      output() {
        return [...captured].map(([name, text]) => `===== ${name}\n${text}`).join('\n');
      },
      stop() {
        stopping ??= (async () => {
          await Promise.all(nodes.map((_, index) => stopNode(index)));
          for (const child of [...children].reverse()) {
            const exited = child.exitCode === null && child.signalCode === null ? new Promise((resolve) => child.once('exit', resolve)) : undefined;
            child.kill('SIGTERM');
            await exited;
          }
          process.removeListener('exit', cleanUp);
          rmSync(dir, { recursive: true, force: true });
        })();
        return stopping;
      },
    };
  } catch (error) {
    cleanUp();
    process.removeListener('exit', cleanUp);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

function haproxyConfigText(where: { port: number; tlsPort: number; statsPort: number; check: HealthCheck }, nodes: NodeHandle[]): string {
  const { check } = where;
  const servers = (port: (node: NodeHandle) => number): string =>
    nodes.map((node) => `    server ${node.id} 127.0.0.1:${port(node)} send-proxy-v2 check port ${node.httpPort}`).join('\n');
  // A node that stopped listening (draining) refuses connections before its health check fails:
  // such a connection is tried again on another node (redispatch on every retry). The health
  // check goes to the HTTP port without a PROXY header (HAProxy adds one only with check-send-proxy).
  return `global
    maxconn 9000
defaults
    mode tcp
    timeout connect 2s
    timeout client 1h
    timeout server 1h
    timeout check 2s
    retries 3
    option redispatch 1
    option httpchk GET /readyz
    default-server inter ${check.intervalMs}ms fastinter ${check.intervalMs}ms downinter ${check.intervalMs}ms fall ${check.fall} rise ${check.rise}
listen stats
    bind 127.0.0.1:${where.statsPort}
    mode http
    stats enable
    stats uri /stats
frontend c2s
    bind 127.0.0.1:${where.port}
    default_backend c2s_nodes
backend c2s_nodes
    balance leastconn
${servers((node) => node.c2sPort)}
frontend c2s_tls
    bind 127.0.0.1:${where.tlsPort}
    default_backend c2s_tls_nodes
backend c2s_tls_nodes
    balance leastconn
${servers((node) => node.c2sTlsPort)}
`;
}

function requireCommand(command: string, debianPackage: string): void {
  if (spawnSync('sh', ['-c', `command -v ${command}`]).status === 0) return;
  throw new Error(`${command} is missing: install it (Debian: apt-get install ${debianPackage})`);
}

/** The ports asked for; each 0 is replaced by a distinct free loopback port. */
export async function ports(...wanted: number[]): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const found: number[] = [];
    for (const port of wanted) {
      if (port !== 0) {
        found.push(port);
        continue;
      }
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
      });
      const address = server.address();
      if (typeof address !== 'object' || !address) throw new Error('no free port');
      found.push(address.port);
    }
    return found;
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}

async function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect({ port, host: '127.0.0.1' }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

/** Polls `check` every 50 ms until it holds; throws once `timeoutMs` has passed. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${what} did not happen within ${timeoutMs} ms`);
}
