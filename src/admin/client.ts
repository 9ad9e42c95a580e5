// The CLI's client for a running node's admin API (embedded store: the node holds the state).
// node:http rather than fetch: loading undici and its keep-alive pool cost a one-shot command
// about 0.3 s (bench/cli-timing.ts); one request on a connection of its own needs neither.
import { request } from 'node:http';
import type { Config } from '../config.js';
import { RookeryError } from '../errors.js';
import { AdminError, type AdminFailure } from '../core/admin-error.js';
import { readTokenFileSync, tokenPath } from './token.js';

export interface SessionSummary {
  jid: string;
  node: string;
  priority: number;
  available: boolean;
  interested: boolean;
}

export class AdminClient {
  private readonly base: string;
  /** ROOKERY_ADMIN_TOKEN, or the one a node with the same data directory generated. */
  private readonly token: string | undefined;

  constructor(private readonly config: Config) {
    this.base = `http://127.0.0.1:${config.httpPort}/admin`;
    this.token = config.adminToken ?? readTokenFileSync(config.dataDir);
  }

  async addUser(jid: string, password: string): Promise<string> {
    return ((await this.call('POST', '/users', { jid, password })) as { jid: string }).jid;
  }

  async changePassword(jid: string, password: string): Promise<string> {
    return ((await this.call('PUT', `/users/${encodeURIComponent(jid)}/password`, { password })) as { jid: string }).jid;
  }

  async deleteUser(jid: string): Promise<string> {
    return ((await this.call('DELETE', `/users/${encodeURIComponent(jid)}`)) as { jid: string }).jid;
  }

  async listUsers(): Promise<string[]> {
    return (await this.call('GET', '/users')) as string[];
  }

  async sessions(): Promise<SessionSummary[]> {
    return (await this.call('GET', '/sessions')) as SessionSummary[];
  }

  private async call(method: string, path: string, body?: unknown): Promise<unknown> {
    let response: { status: number; text: string };
    try {
      response = await send(this.base + path, method, {
        // Only with a body: fastify refuses an empty one that claims to be JSON.
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(this.token !== undefined ? { authorization: `Bearer ${this.token}` } : {}),
      }, body !== undefined ? JSON.stringify(body) : undefined);
    } catch {
      throw new RookeryError('ROOKERY_ADMIN_UNREACHABLE', `no running Rookery node answers on port ${this.config.httpPort} (start one, or set ROOKERY_REDIS_URL)`);
    }
    const payload = parseJson(response.text) as { error?: string; message?: string };
    if (response.status >= 200 && response.status < 300) return payload;
    if (response.status === 401 || response.status === 403 || response.status === 503) {
      const where = this.token === undefined ? `no token in ROOKERY_ADMIN_TOKEN or ${tokenPath(this.config.dataDir)}` : 'the token was not accepted';
      throw new RookeryError('ROOKERY_ADMIN_REFUSED', `the node refused the admin request (${response.status}): ${where}; give the command the node's ROOKERY_ADMIN_TOKEN or ROOKERY_DATA_DIR`);
    }
    throw new AdminError((payload.error ?? 'not-found') as AdminFailure, payload.message ?? `admin request failed (${response.status})`);
  }
}

/** One request on a connection of its own (closed after the answer, so the command exits at once). */
function send(url: string, method: string, headers: Record<string, string>, body: string | undefined): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const length = body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) };
    const outgoing = request(url, { method, agent: false, headers: { ...headers, ...length, connection: 'close' } }, (incoming) => {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('end', () => resolve({ status: incoming.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      incoming.on('error', reject);
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return {};
  }
}
