// A throw-away Redis Cluster for tests: three masters (optionally one replica each) on free
// loopback ports, no persistence, one temp directory for their nodes.conf files.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePorts } from './cluster.js';

const run = promisify(execFile);

export interface RedisClusterHandle {
  /** redis://127.0.0.1:<port of the first master>, a seed for cluster clients. */
  url: string;
  ports: number[];
  /** SIGKILL of the server on `port`, as a crash (its replica, if any, is promoted). */
  kill(port: number): Promise<void>;
  /** The ports of the servers that are masters now. */
  masters(): Promise<number[]>;
  /** SIGTERM, then SIGKILL for stragglers; removes the temp directory. Idempotent. */
  stop(): Promise<void>;
}

export interface RedisClusterOptions {
  /** One replica per master (six servers), for failover tests. */
  replicas?: boolean;
  /** cluster-node-timeout: how long a master may be silent before its replica takes over. */
  nodeTimeoutMs?: number;
}

const MASTERS = 3;
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;
const POLL_MS = 50;

export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisClusterHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'rookery-redis-cluster-'));
  const total = options.replicas ? MASTERS * 2 : MASTERS;
  // Client ports and cluster bus ports chosen explicitly (the default bus port, port + 10000, may be taken or out of range).
  const ports = await freePorts(total * 2);
  const servers: Array<{ child: ChildProcess; exited: Promise<void>; output: string }> = [];
  const killOnExit = (): void => {
    for (const server of servers) server.child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      process.removeListener('exit', killOnExit);
      await Promise.all(servers.map(({ child, exited }) => terminate(child, exited)));
      rmSync(dir, { recursive: true, force: true });
    })();
    return stopping;
  };
  const clientPorts = ports.slice(0, total);
  try {
    for (let i = 0; i < total; i++) {
      const port = ports[i] as number;
      const child = spawn(
        'redis-server',
        [
          '--port', String(port),
          '--cluster-enabled', 'yes',
          '--cluster-port', String(ports[total + i]),
          '--cluster-config-file', join(dir, `nodes-${i}.conf`),
          '--cluster-node-timeout', String(options.nodeTimeoutMs ?? 5000),
          '--save', '',
          '--appendonly', 'no',
          '--bind', '127.0.0.1',
          '--dir', dir,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const server = { child, exited: new Promise<void>((resolve) => child.once('exit', () => resolve())), output: '' };
      child.stdout?.on('data', (chunk: Buffer) => (server.output += chunk.toString()));
      child.stderr?.on('data', (chunk: Buffer) => (server.output += chunk.toString()));
      child.once('error', (error) => (server.output += String(error)));
      servers.push(server);
    }
    const deadline = Date.now() + START_TIMEOUT_MS;
    await Promise.all(clientPorts.map((port) => until(deadline, `redis-server on ${port} answers PING`, async () => (await command(port, 'PING')) === 'PONG')));
    const replicas = options.replicas ? '1' : '0';
    await run('redis-cli', ['--cluster', 'create', ...clientPorts.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', replicas, '--cluster-yes'], { timeout: START_TIMEOUT_MS });
    await Promise.all(
      clientPorts.map((port) =>
        until(deadline, `redis-server on ${port} reports cluster_state:ok with every node known`, async () => {
          const info = String(await command(port, 'CLUSTER', 'INFO'));
          return info.includes('cluster_state:ok') && info.includes(`cluster_known_nodes:${total}`) && info.includes('cluster_slots_ok:16384');
        }),
      ),
    );
    if (options.replicas) {
      // A replica that never synced with its master refuses to take over from it.
      await Promise.all(
        clientPorts.map((port) =>
          until(deadline, `redis-server on ${port} is a master or a synced replica`, async () => {
            const info = String(await command(port, 'INFO', 'replication'));
            return info.includes('role:master') || info.includes('master_link_status:up');
          }),
        ),
      );
    }
  } catch (error) {
    const output = servers.map((server, i) => `--- redis ${clientPorts[i]}\n${server.output}`).join('\n');
    await stop();
    throw new Error(`the Redis Cluster did not start: ${(error as Error).message}\n${output}`);
  }
  const kill = async (port: number): Promise<void> => {
    const server = servers[clientPorts.indexOf(port)];
    if (!server) throw new Error(`no server on port ${port}`);
    server.child.kill('SIGKILL');
    await server.exited;
  };
  const masters = async (): Promise<number[]> => {
    const found: number[] = [];
    for (const [i, port] of clientPorts.entries()) {
      const server = servers[i];
      if (!server || server.child.exitCode !== null || server.child.signalCode !== null) continue;
      if (String(await command(port, 'ROLE')).startsWith('master')) found.push(port);
    }
    return found;
  };
  return { url: `redis://127.0.0.1:${clientPorts[0]}`, ports: clientPorts, kill, masters, stop };
}

/** One command on a short-lived plain connection; undefined when the server cannot answer yet. */
async function command(port: number, name: string, ...args: string[]): Promise<unknown> {
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    await client.connect();
    return await client.call(name, ...args);
  } catch {
    return undefined;
  } finally {
    client.disconnect();
  }
}

async function until(deadline: number, what: string, check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

async function terminate(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    exited.then(() => false),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), STOP_TIMEOUT_MS);
    }),
  ]);
  clearTimeout(timer);
  if (timedOut) {
    child.kill('SIGKILL');
    await exited;
  }
}
