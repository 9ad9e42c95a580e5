// Rookery under test: one node on the embedded store, one node on Redis, or two nodes sharing a Redis.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRedisBackend } from '../../cluster/redis/index.js';
import { deriveCredentials } from '../../src/sasl/credentials.js';
import { commandOutput, exitOf, portAnswers, waitFor } from '../lib/proc.js';
import type { LaunchContext, RunningServer } from './types.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export type RookeryMode = 'embedded' | 'redis' | 'cluster';

export const ROOKERY_PORTS = { c2s: 25222, http: 25280, nodeStride: 10, redis: 25379 };

export function rookeryVersion(): string {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const commit = commandOutput('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']);
  const dirty = commandOutput('git', ['-C', ROOT, 'status', '--porcelain', '--', 'src', 'cluster']).length > 0 ? '+local changes' : '';
  return `${pkg.version} (${commit}${dirty}), Node.js ${process.version}`;
}

/** `clusterSize`: how many nodes the 'cluster' mode starts (default 2; bench/scale.ts starts more). */
export async function startRookery(mode: RookeryMode, ctx: LaunchContext, clusterSize = mode === 'cluster' ? 2 : 1): Promise<RunningServer> {
  const dir = join(ctx.dir, `rookery-${mode}`);
  mkdirSync(dir, { recursive: true });
  const children: ChildProcess[] = [];
  let redis: ChildProcess | undefined;
  let redisUrl: string | undefined;
  if (mode !== 'embedded') {
    redis = spawn('redis-server', ['--port', String(ROOKERY_PORTS.redis), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
      stdio: 'ignore',
    });
    redisUrl = `redis://127.0.0.1:${ROOKERY_PORTS.redis}`;
    await waitFor(() => commandOutput('redis-cli', ['-p', String(ROOKERY_PORTS.redis), 'ping']) === 'PONG', 10_000, 'redis-server');
  }
  const startedAt = Date.now();
  // The admin API wants its bearer token from every client (createAccounts below uses it).
  const adminToken = randomBytes(24).toString('base64url');
  const nodeCount = mode === 'cluster' ? clusterSize : 1;
  // Federation: every port on the server's own address, s2s on 5269 (one node only).
  const host = ctx.federation?.address ?? '127.0.0.1';
  if (ctx.federation && nodeCount > 1) throw new Error('federation: one Rookery node only');
  const nodes: Array<{ c2s: number; http: number; process: ChildProcess }> = [];
  for (let index = 0; index < nodeCount; index++) {
    const c2s = ROOKERY_PORTS.c2s + index * ROOKERY_PORTS.nodeStride;
    const http = ROOKERY_PORTS.http + index * ROOKERY_PORTS.nodeStride;
    const logFd = openSync(join(dir, `node${index}.log`), 'a');
    const child = spawn(process.execPath, [...(ctx.nodeArgs ?? []), join(ROOT, 'bin/rookery.js'), 'start'], {
      cwd: dir,
      stdio: ['ignore', logFd, logFd],
      env: {
        ...process.env,
        ROOKERY_DOMAIN: ctx.domain,
        ROOKERY_NODE_ID: `bench${index}`,
        ROOKERY_BIND_ADDRESS: host,
        ROOKERY_C2S_PORT: String(c2s),
        ROOKERY_C2S_TLS_PORT: String(c2s + 1),
        // No federation unless asked: nodes on one machine would contend for 5269.
        ROOKERY_S2S_PORT: ctx.federation ? '5269' : (process.env.ROOKERY_S2S_PORT ?? '0'),
        // Incoming s2s streams unpaced, as Prosody runs without mod_limits and ejabberd without shapers.
        ROOKERY_LIMIT_S2S_BYTES_PER_SECOND: '0',
        ROOKERY_HTTP_PORT: String(http),
        ROOKERY_ALLOW_PLAINTEXT_AUTH: 'true',
        ROOKERY_LOG_LEVEL: 'warn',
        ROOKERY_ADMIN_TOKEN: adminToken,
        ROOKERY_TLS_CERT: ctx.certFile,
        ROOKERY_TLS_KEY: ctx.keyFile,
        ROOKERY_DRAIN_TIMEOUT_SECONDS: '2',
        ROOKERY_REDIS_URL: redisUrl ?? '',
        ROOKERY_REDIS_PREFIX: 'bench',
        // Flood limits off, as Prosody runs without mod_limits and ejabberd without shapers.
        ROOKERY_LIMIT_C2S_BYTES_PER_SECOND: '0',
        ROOKERY_LIMIT_C2S_UNAUTHED_BYTES_PER_SECOND: '0',
        ROOKERY_LIMIT_C2S_STANZAS_PER_SECOND: '0',
        ROOKERY_LIMIT_ADDRESS_CONNECTIONS_PER_MINUTE: '0',
        ROOKERY_LIMIT_MAX_CONNECTIONS: '0',
      },
    });
    children.push(child);
    nodes.push({ c2s, http, process: child });
    try {
      await waitFor(
        async () => {
          if (child.exitCode !== null) throw new Error(`rookery node ${index} exited (${child.exitCode}); see ${join(dir, `node${index}.log`)}`);
          return (await fetch(`http://${host}:${http}/readyz`).catch(() => undefined))?.ok === true && (await portAnswers(c2s, host));
        },
        90_000,
        `rookery node ${index}`,
      );
    } catch (error) {
      for (const started of children) started.kill('SIGKILL');
      redis?.kill('SIGKILL');
      throw error;
    }
  }
  const label = mode === 'embedded' ? 'Rookery, 1 node, embedded store' : mode === 'redis' ? 'Rookery, 1 node + Redis' : `Rookery, ${nodeCount} nodes + Redis`;
  const redisVersion = redis ? `, Redis ${commandOutput('redis-server', ['--version']).match(/v=(\S+)/)?.[1] ?? '?'}` : '';
  return {
    kind: 'rookery',
    label,
    config: mode === 'embedded' ? 'embedded' : mode === 'redis' ? '1 node + Redis' : `${nodeCount} nodes + Redis`,
    version: rookeryVersion() + redisVersion,
    targets: nodes.map((node) => ({ host, port: node.c2s, domain: ctx.domain, webSocketUrl: `ws://${host}:${node.http}/xmpp-websocket`, httpUrl: `http://${host}:${node.http}` })),
    pids: () => nodes.map((node) => node.process.pid ?? 0).filter((pid) => pid > 0),
    startedAt,
    helperPids: () => (redis?.pid ? [{ name: 'redis-server', pid: redis.pid }] : []),
    ...(redis ? { redisPort: ROOKERY_PORTS.redis } : {}),
    notes: [
      'ROOKERY_ALLOW_PLAINTEXT_AUTH=true, ROOKERY_LOG_LEVEL=warn, flood limits off (ROOKERY_LIMIT_*=0), default modules (roster, presence, offline, carbons, blocking, disco, caps, ping, version, stream management)',
      'SCRAM credentials with 4096 iterations (the Rookery default)',
    ],
    async createAccounts(users, password) {
      if (redisUrl) {
        // Straight into Redis, one derivation shared by all accounts (same password, same salt).
        const state = await createRedisBackend({ url: redisUrl, prefix: 'bench' });
        try {
          const credentials = await deriveCredentials(password, 4096);
          for (let i = 0; i < users.length; i += 200) {
            await Promise.all(users.slice(i, i + 200).map((user) => state.accounts.create(`${user}@${ctx.domain}`, credentials)));
          }
        } finally {
          await state.close();
        }
        return;
      }
      // The embedded store lives in the node: its admin API.
      const url = `http://${host}:${nodes[0]!.http}/admin/users`;
      let next = 0;
      const lane = async (): Promise<void> => {
        while (next < users.length) {
          const user = users[next++]!;
          const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` }, body: JSON.stringify({ jid: user, password }) });
          if (response.status !== 201 && response.status !== 409) throw new Error(`POST /admin/users ${user}: ${response.status} ${await response.text()}`);
        }
      };
      await Promise.all(Array.from({ length: 8 }, lane));
    },
    async stop() {
      for (const child of children) child.kill('SIGTERM');
      for (const child of children) {
        if (!(await exitOf(child, 15_000))) child.kill('SIGKILL');
      }
      if (redis) {
        redis.kill('SIGTERM');
        if (!(await exitOf(redis, 5000))) redis.kill('SIGKILL');
      }
    },
  };
}
