// The admin API's door: a bearer token on every request (from loopback too), generated into the
// data directory when none is configured; foreign Origins and non-JSON bodies refused before
// anything runs. And the URLs that used to end the process.
import { stat, readFile } from 'node:fs/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { tokenPath } from '../../src/admin/token.js';
import { exchange, type HttpNode, startHttpNode } from './support.js';

let node: HttpNode;
let token: string;

const request = (method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Response> =>
  fetch(node.url(path), { method, headers, ...(body !== undefined ? { body } : {}) });
const authorized = (extra: Record<string, string> = {}): Record<string, string> => ({ authorization: `Bearer ${token}`, ...extra });
const json = { 'content-type': 'application/json' };
const users = async (): Promise<string[]> => (await (await request('GET', '/admin/users', authorized())).json()) as string[];

beforeAll(async () => {
  node = await startHttpNode();
  token = (await readFile(tokenPath(node.dataDir), 'utf8')).trim();
});
afterAll(() => node.stop());

/** Nodes of one cluster share Redis; only the admin token lives in their data directory. */
function onRedis(): { redisUrl: string; redisPrefix: string } {
  return { redisUrl: inject('redisUrl'), redisPrefix: `http${randomBytes(4).toString('hex')}` };
}

describe('the URLs that used to end the process', () => {
  it.each(['GET /healthz/%ZZ', 'DELETE /admin/users/%E0%A4%A', 'PUT /admin/users/%ZZ/password', 'GET /metrics/%'])('answers %s with 400 and keeps serving', async (line) => {
    const answer = await exchange(node.port, { chunks: [Buffer.from(`${line} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)], waitMs: 5_000 });
    expect(answer.statuses).toEqual([400]);
    expect((await request('GET', '/healthz')).status).toBe(200);
  });

  it('answers an unknown route with 404 and a known route with the wrong method with 404', async () => {
    expect((await request('GET', '/nowhere')).status).toBe(404);
    expect((await request('POST', '/healthz')).status).toBe(404);
    expect((await request('PATCH', '/admin/users', authorized())).status).toBe(404);
  });
});

describe('the bearer token', () => {
  it('is generated into the data directory, readable by its owner only', async () => {
    const file = await stat(tokenPath(node.dataDir));
    expect(file.mode & 0o777).toBe(0o600);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('is required from a loopback client: none or a wrong one answers 401 and changes nothing', async () => {
    expect((await request('GET', '/admin/users')).status).toBe(401);
    expect((await request('GET', '/admin/users', { authorization: `Bearer ${token}x` })).status).toBe(401);
    expect((await request('GET', '/admin/users', { authorization: token })).status).toBe(401);
    expect((await request('HEAD', '/admin/users')).status).toBe(401);
    expect((await request('POST', '/admin/users', json, JSON.stringify({ jid: 'mallory', password: 'pw' }))).status).toBe(401);
    expect(await users()).not.toContain('mallory@localhost');
  });

  it('lets the holder of the token create an account', async () => {
    const created = await request('POST', '/admin/users', authorized(json), JSON.stringify({ jid: 'alice', password: 'pw' }));
    expect(created.status).toBe(201);
    expect(await users()).toContain('alice@localhost');
  });

  it('is reused by the next node on the same data directory', async () => {
    // On Redis: the embedded store would lock the data directory the first node holds.
    const next = await startHttpNode({ dataDir: node.dataDir, ...onRedis() });
    try {
      expect((await fetch(next.url('/admin/users'), { headers: authorized() })).status).toBe(200);
    } finally {
      await next.stop();
    }
  });

  it('is the same for two nodes that start together on an empty data directory', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'rookery-race-'));
    const shared = onRedis();
    const nodes = await Promise.all([startHttpNode({ dataDir, ...shared }), startHttpNode({ dataDir, ...shared })]);
    try {
      const token = `Bearer ${(await readFile(tokenPath(dataDir), 'utf8')).trim()}`;
      for (const each of nodes) expect((await fetch(each.url('/admin/users'), { headers: { authorization: token } })).status).toBe(200);
    } finally {
      await Promise.all(nodes.map((each) => each.stop()));
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('comes from ROOKERY_ADMIN_TOKEN when set, and then no file is written', async () => {
    const configured = await startHttpNode({ adminToken: 'configured-token' });
    try {
      expect((await fetch(configured.url('/admin/users'), { headers: { authorization: 'Bearer configured-token' } })).status).toBe(200);
      await expect(stat(tokenPath(configured.dataDir))).rejects.toThrow(/ENOENT/);
    } finally {
      await configured.stop();
    }
  });
});

describe('requests a browser sends for another site', () => {
  it('refuses a foreign Origin with 403, even with the token', async () => {
    for (const origin of ['http://evil.example', 'null', `http://127.0.0.1:${node.port + 1}`, `https://127.0.0.1:${node.port}`]) {
      const answer = await request('POST', '/admin/users', authorized({ ...json, origin }), JSON.stringify({ jid: 'eve', password: 'pw' }));
      expect([origin, answer.status]).toEqual([origin, 403]);
    }
    expect(await users()).not.toContain('eve@localhost');
  });

  it("accepts the node's own origin", async () => {
    for (const origin of [`http://127.0.0.1:${node.port}`, `http://localhost:${node.port}`]) {
      expect((await request('GET', '/admin/users', authorized({ origin }))).status).toBe(200);
    }
  });

  it('refuses a text/plain POST with 415 and creates no account', async () => {
    const body = JSON.stringify({ jid: 'plain', password: 'pw' });
    expect((await request('POST', '/admin/users', authorized({ 'content-type': 'text/plain' }), body)).status).toBe(415);
    expect((await request('POST', '/admin/users', authorized({ 'content-type': 'application/x-www-form-urlencoded' }), body)).status).toBe(415);
    expect((await request('PUT', '/admin/users/alice/password', authorized({ 'content-type': 'text/plain' }), '{"password":"x"}')).status).toBe(415);
    expect(await users()).not.toContain('plain@localhost');
  });

  it('answers a body over 64 KiB with 413', async () => {
    const body = JSON.stringify({ jid: 'big', password: 'x'.repeat(70 * 1024) });
    expect((await request('POST', '/admin/users', authorized(json), body)).status).toBe(413);
  });
});
