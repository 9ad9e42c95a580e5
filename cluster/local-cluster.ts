// A whole cluster on localhost, for trying Rookery and for benchmarks: one redis-server, N
// Rookery nodes, and HAProxy balancing the client ports over them (TCP, health-checked on
// /readyz). `npm run cluster -- --nodes 3`; Ctrl-C stops everything.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

export interface LocalClusterOptions {
  nodes: number;
  /** The balanced STARTTLS port; direct TLS is the next one. */
  port: number;
  redisPort: number;
  /** First port of the nodes' own ports (each node takes three). */
  nodeBasePort: number;
  domain: string;
  /** Extra environment for every node. */
  env?: Record<string, string>;
  log?: (line: string) => void;
}

export interface NodeHandle {
  id: string;
  c2sPort: number;
  c2sTlsPort: number;
  httpPort: number;
  process: ChildProcess;
}

export interface LocalCluster {
  redisUrl: string;
  nodes: NodeHandle[];
  /** Stops node i with SIGTERM and waits for it to exit. */
  stopNode(index: number): Promise<void>;
  /** Starts node i again with the same id and ports, and waits until it is ready. */
  startNode(index: number): Promise<void>;
  stop(): Promise<void>;
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export function defaultOptions(): LocalClusterOptions {
  return { nodes: 3, port: 5222, redisPort: 6390, nodeBasePort: 15300, domain: 'localhost' };
}

export async function startLocalCluster(options: LocalClusterOptions): Promise<LocalCluster> {
  const log = options.log ?? ((line: string) => console.log(line));
  requireCommand('redis-server', 'redis-server');
  requireCommand('haproxy', 'haproxy');
  const dir = mkdtempSync(join(tmpdir(), 'rookery-cluster-'));
  const children: ChildProcess[] = [];
  const redis = spawn('redis-server', ['--port', String(options.redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  children.push(redis);
  const redisUrl = `redis://127.0.0.1:${options.redisPort}`;
  await waitFor(() => spawnSync('redis-cli', ['-p', String(options.redisPort), 'ping']).stdout?.toString().trim() === 'PONG', 10_000, 'redis-server');

  const nodes: NodeHandle[] = [];
  const startNode = async (index: number): Promise<void> => {
    const base = options.nodeBasePort + index * 3;
    const handle: NodeHandle = {
      id: `node${index}`,
      c2sPort: base,
      c2sTlsPort: base + 1,
      httpPort: base + 2,
      process: spawn(process.execPath, [join(ROOT, 'bin/rookery.js'), 'start'], {
        cwd: ROOT,
        stdio: ['ignore', 'ignore', 'inherit'],
        env: {
          ...process.env,
          ROOKERY_REDIS_URL: redisUrl,
          ROOKERY_NODE_ID: `node${index}`,
          ROOKERY_DOMAIN: options.domain,
          ROOKERY_BIND_ADDRESS: '127.0.0.1',
          ROOKERY_C2S_PORT: String(base),
          ROOKERY_C2S_TLS_PORT: String(base + 1),
          ROOKERY_HTTP_PORT: String(base + 2),
          ...options.env,
        },
      }),
    };
    nodes[index] = handle;
    await waitFor(async () => (await fetch(`http://127.0.0.1:${handle.httpPort}/readyz`).catch(() => undefined))?.ok === true, 30_000, handle.id);
  };
  for (let index = 0; index < options.nodes; index++) await startNode(index);

  const haproxyConfig = join(dir, 'haproxy.cfg');
  writeFileSync(haproxyConfig, haproxyConfigText(options, nodes));
  const haproxy = spawn('haproxy', ['-f', haproxyConfig, '-db'], { stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(haproxy);
  await waitFor(() => portAnswers(options.port), 10_000, 'haproxy');
  log(`redis: ${redisUrl}`);
  for (const node of nodes) log(`${node.id}: c2s ${node.c2sPort}, direct TLS ${node.c2sTlsPort}, http ${node.httpPort}`);
  log(`clients: ${options.domain} at 127.0.0.1:${options.port} (STARTTLS) or 127.0.0.1:${options.port + 1} (direct TLS)`);

  const stopNode = async (index: number): Promise<void> => {
    const node = nodes[index];
    if (!node || node.process.exitCode !== null) return;
    const exited = new Promise((resolve) => node.process.once('exit', resolve));
    node.process.kill('SIGTERM');
    await exited;
  };
  return {
    redisUrl,
    nodes,
    stopNode,
    startNode,
    async stop() {
      for (let index = 0; index < nodes.length; index++) await stopNode(index);
      for (const child of children.reverse()) child.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function haproxyConfigText(options: LocalClusterOptions, nodes: NodeHandle[]): string {
  const servers = (port: (node: NodeHandle) => number): string =>
    nodes.map((node) => `    server ${node.id} 127.0.0.1:${port(node)} check port ${node.httpPort}`).join('\n');
  return `global
    maxconn 9000
defaults
    mode tcp
    timeout connect 5s
    timeout client 1h
    timeout server 1h
    option httpchk GET /readyz
    default-server inter 1s fall 2 rise 1
frontend c2s
    bind 127.0.0.1:${options.port}
    default_backend c2s_nodes
backend c2s_nodes
    balance leastconn
${servers((node) => node.c2sPort)}
frontend c2s_tls
    bind 127.0.0.1:${options.port + 1}
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

async function portAnswers(port: number): Promise<boolean> {
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what} did not become ready within ${timeoutMs} ms`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      nodes: { type: 'string', default: '3' },
      port: { type: 'string', default: '5222' },
      'redis-port': { type: 'string', default: '6390' },
      domain: { type: 'string', default: 'localhost' },
    },
  });
  const cluster = await startLocalCluster({
    ...defaultOptions(),
    nodes: Number(values.nodes),
    port: Number(values.port),
    redisPort: Number(values['redis-port']),
    domain: String(values.domain),
  });
  console.log(`accounts: ROOKERY_REDIS_URL=${cluster.redisUrl} npx rookery user add alice@${values.domain} PASSWORD`);
  const stop = (): void => void cluster.stop().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
