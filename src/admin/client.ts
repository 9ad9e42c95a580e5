// The CLI's client for a running node's admin API (embedded store: the node holds the state).
import type { Config } from '../config.js';
import { RookeryError } from '../errors.js';
import { AdminError, type AdminFailure } from '../core/accounts.js';
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
    let response: Response;
    try {
      response = await fetch(this.base + path, {
        method,
        headers: {
          // Only with a body: fastify refuses an empty one that claims to be JSON.
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(this.token !== undefined ? { authorization: `Bearer ${this.token}` } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch {
      throw new RookeryError('ROOKERY_ADMIN_UNREACHABLE', `no running Rookery node answers on port ${this.config.httpPort} (start one, or set ROOKERY_REDIS_URL)`);
    }
    const payload = (await response.json().catch(() => ({}))) as { error?: string; message?: string };
    if (response.ok) return payload;
    if (response.status === 401 || response.status === 403 || response.status === 503) {
      const where = this.token === undefined ? `no token in ROOKERY_ADMIN_TOKEN or ${tokenPath(this.config.dataDir)}` : 'the token was not accepted';
      throw new RookeryError('ROOKERY_ADMIN_REFUSED', `the node refused the admin request (${response.status}): ${where}; give the command the node's ROOKERY_ADMIN_TOKEN or ROOKERY_DATA_DIR`);
    }
    throw new AdminError((payload.error ?? 'not-found') as AdminFailure, payload.message ?? `admin request failed (${response.status})`);
  }
}
