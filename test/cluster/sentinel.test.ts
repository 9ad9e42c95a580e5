// Redis with a replica behind Sentinel: the backend connects through redis-sentinel:// and keeps
// working when Sentinel promotes the replica (ioredis asks Sentinel for the new primary).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisBackend } from '../../cluster/redis/index.js';
import { deriveCredentials } from '../../src/sasl/credentials.js';
import type { StateBackend } from '../../src/state/backend.js';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function eventually(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('Redis behind Sentinel', () => {
  let primary: RedisServerHandle;
  let replica: RedisServerHandle;
  let sentinel: ChildProcess;
  let sentinelPort: number;
  let dir: string;
  let backend: StateBackend;

  beforeAll(async () => {
    primary = await startRedisServer();
    replica = await startRedisServer({ args: ['--replicaof', '127.0.0.1', String(primary.port)] });
    sentinelPort = await freePort();
    dir = mkdtempSync(join(tmpdir(), 'rookery-sentinel-'));
    const config = join(dir, 'sentinel.conf');
    writeFileSync(
      config,
      [
        `port ${sentinelPort}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor mymaster 127.0.0.1 ${primary.port} 1`,
        'sentinel down-after-milliseconds mymaster 1000',
        'sentinel failover-timeout mymaster 5000',
        '',
      ].join('\n'),
    );
    sentinel = spawn('redis-server', [config, '--sentinel'], { stdio: 'ignore' });
    const probe = new Redis({ port: sentinelPort, lazyConnect: true, maxRetriesPerRequest: 1 });
    probe.on('error', () => {}); // Sentinel may not listen yet
    await eventually(async () => {
      if (probe.status !== 'ready') await probe.connect().catch(() => undefined);
      const replicas = (await probe.call('SENTINEL', 'REPLICAS', 'mymaster')) as unknown[];
      return replicas.length > 0;
    }, 20_000, 'Sentinel to see the replica');
    probe.disconnect();
    backend = await createRedisBackend({ url: `redis-sentinel://127.0.0.1:${sentinelPort}/mymaster`, prefix: 'sentinel' });
  });

  afterAll(async () => {
    await backend?.close();
    sentinel?.kill('SIGTERM');
    await replica?.stop();
    await primary?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('stores and reads through the primary that Sentinel names', async () => {
    expect(await backend.accounts.create('alice@localhost', await deriveCredentials('pw', 4096))).toBe(true);
    expect(await backend.accounts.exists('alice@localhost')).toBe(true);
  });

  it('keeps working after Sentinel promotes the replica', async () => {
    const sentinelClient = new Redis({ port: sentinelPort });
    const before = (await sentinelClient.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', 'mymaster')) as string[];
    expect(before[1]).toBe(String(primary.port));
    // Let the replica catch up, so the promoted one has what was written.
    const replicaClient = new Redis({ port: replica.port });
    await eventually(async () => (await replicaClient.exists('sentinel:v1:{alice@localhost}:account')) === 1, 10_000, 'replication');
    replicaClient.disconnect();
    await sentinelClient.call('SENTINEL', 'FAILOVER', 'mymaster');
    await eventually(async () => {
      const now = (await sentinelClient.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', 'mymaster')) as string[];
      return now[1] === String(replica.port);
    }, 20_000, 'the promotion');
    sentinelClient.disconnect();
    await eventually(async () => backend.accounts.create('bob@localhost', await deriveCredentials('pw', 4096)), 20_000, 'a write after the failover');
    expect(await backend.accounts.exists('alice@localhost')).toBe(true);
    expect(await backend.accounts.exists('bob@localhost')).toBe(true);
  });
});
