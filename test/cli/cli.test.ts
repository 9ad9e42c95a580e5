// The `rookery` command, run as a real child process, against both stores: the embedded one
// (in a temporary data directory) through a running node's admin API, Redis directly.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { RawClient } from '../support/client.js';

const BIN = new URL('../../bin/rookery.js', import.meta.url).pathname;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function rookery(args: string[], env: Record<string, string>, input?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdin.end(input ?? '');
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function waitReady(port: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const response = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
    if (response?.ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('node did not become ready');
}

describe.each(['embedded', 'redis'] as const)('the rookery command on the %s store', (store) => {
  let node: ChildProcess;
  let env: Record<string, string>;
  let c2sPort: number;
  // The node generates its admin token there; the command finds it through the same ROOKERY_DATA_DIR.
  const dataDir = mkdtempSync(join(tmpdir(), 'rookery-cli-'));

  beforeAll(async () => {
    c2sPort = await freePort();
    const httpPort = await freePort();
    env = {
      ROOKERY_C2S_PORT: String(c2sPort),
      ROOKERY_C2S_TLS_PORT: String(await freePort()),
      ROOKERY_HTTP_PORT: String(httpPort),
      ROOKERY_BIND_ADDRESS: '127.0.0.1',
      ROOKERY_NODE_ID: `cli-${store}`,
      ROOKERY_LOG_LEVEL: 'warn',
      ROOKERY_DATA_DIR: dataDir,
      ...(store === 'redis' ? { ROOKERY_REDIS_URL: inject('redisUrl'), ROOKERY_REDIS_PREFIX: `cli${randomBytes(3).toString('hex')}` } : {}),
    };
    node = spawn(process.execPath, [BIN, 'start'], { env: { ...process.env, ...env }, stdio: 'ignore' });
    await waitReady(httpPort);
  });

  afterAll(async () => {
    const exited = new Promise((resolve) => node.once('exit', resolve));
    node.kill('SIGTERM');
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('adds an account whose password is read from stdin, and the account can log in', async () => {
    const added = await rookery(['user', 'add', 'carol@localhost', '-'], env, 'stdin-secret\n');
    expect(added.code).toBe(0);
    expect(added.stdout).toContain('created carol@localhost');
    const client = await RawClient.connect({ port: c2sPort });
    expect(await client.login('carol', 'stdin-secret', 'desk')).toBe('carol@localhost/desk');
    const sessions = await rookery(['sessions'], env);
    expect(sessions.stdout).toContain('carol@localhost/desk');
    expect(sessions.stdout).toContain(`cli-${store}`);
    await client.close();
  });

  it('refuses to add an account twice', async () => {
    await rookery(['user', 'add', 'dave', 'one'], env);
    const again = await rookery(['user', 'add', 'dave', 'two'], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already exists');
  });

  it('changes a password so that only the new one works', async () => {
    await rookery(['user', 'add', 'erin', 'old-password'], env);
    const changed = await rookery(['user', 'passwd', 'erin', 'new-password'], env);
    expect(changed.code).toBe(0);
    const fresh = await RawClient.connect({ port: c2sPort });
    await expect(fresh.login('erin', 'old-password')).rejects.toThrow(/authentication failed/);
    const client = await RawClient.connect({ port: c2sPort });
    expect(await client.login('erin', 'new-password', 'r')).toBe('erin@localhost/r');
    await client.close();
  });

  it('lists accounts and deletes one', async () => {
    await rookery(['user', 'add', 'frank', 'pw'], env);
    const listed = await rookery(['user', 'list'], env);
    expect(listed.stdout.split('\n')).toContain('frank@localhost');
    const deleted = await rookery(['user', 'del', 'frank@localhost'], env);
    expect(deleted.code).toBe(0);
    const after = await rookery(['user', 'list'], env);
    expect(after.stdout.split('\n')).not.toContain('frank@localhost');
  });

  it.runIf(store === 'embedded')('is refused by the node without its admin token, and says where the token is looked for', async () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'rookery-cli-other-'));
    try {
      const run = await rookery(['user', 'list'], { ...env, ROOKERY_DATA_DIR: elsewhere });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('refused the admin request (401)');
      expect(run.stderr).toContain(join(elsewhere, 'admin-token'));
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('rejects an account on another domain', async () => {
    const run = await rookery(['user', 'add', 'x@elsewhere.example', 'pw'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('this server serves localhost');
  });
});
