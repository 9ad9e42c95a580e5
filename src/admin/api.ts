// The admin API on the HTTP port, for `rookery user …` and `rookery sessions` against a node
// running the embedded store. Without ROOKERY_ADMIN_TOKEN it answers loopback clients only.
import { timingSafeEqual } from 'node:crypto';
import type { Host } from '../core/host.js';
import type { HttpHandler, HttpReply, HttpRequest } from '../http.js';
import type { StateBackend } from '../state/backend.js';
import { accountJid, AdminError, changePassword, createAccount, deleteAccount } from './accounts.js';

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

export function authorized(request: HttpRequest, token: string | undefined): boolean {
  if (token === undefined) return LOOPBACK.test(request.remoteAddress);
  const given = Buffer.from(String(request.headers.authorization ?? ''));
  const expected = Buffer.from(`Bearer ${token}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const STATUS: Record<AdminError['failure'], number> = {
  'invalid-jid': 400,
  'wrong-domain': 400,
  'invalid-password': 400,
  exists: 409,
  'not-found': 404,
};

/** GET/POST /admin/users, PUT /admin/users/JID/password, DELETE /admin/users/JID, GET /admin/sessions. */
export function adminApi(state: StateBackend, host: Host, token: string | undefined): HttpHandler {
  return async (request) => {
    if (!authorized(request, token)) return { status: 403, body: { error: 'forbidden' } };
    try {
      return await dispatch(state, host, request);
    } catch (error) {
      if (error instanceof AdminError) return { status: STATUS[error.failure], body: { error: error.failure, message: error.message } };
      throw error;
    }
  };
}

async function dispatch(state: StateBackend, host: Host, request: HttpRequest): Promise<HttpReply> {
  const [resource, jid, sub] = request.params;
  const body = (request.body ?? {}) as { jid?: unknown; password?: unknown };
  if (resource === 'sessions' && request.method === 'GET') {
    const sessions = [];
    for await (const record of state.sessions.all()) sessions.push({ jid: record.full_jid, node: record.node, priority: record.priority, available: record.presence !== undefined, interested: record.interested });
    return { status: 200, body: sessions };
  }
  if (resource !== 'users') return { status: 404, body: { error: 'not-found' } };
  if (request.method === 'GET' && jid === undefined) {
    const users = [];
    for await (const user of state.accounts.list()) users.push(user);
    return { status: 200, body: users.sort() };
  }
  if (request.method === 'POST' && jid === undefined) {
    if (typeof body.jid !== 'string' || typeof body.password !== 'string') return { status: 400, body: { error: 'bad-request' } };
    const user = accountJid(body.jid, host.domain);
    await createAccount(state, user, body.password);
    return { status: 201, body: { jid: user } };
  }
  if (jid === undefined) return { status: 404, body: { error: 'not-found' } };
  const user = accountJid(jid, host.domain);
  if (request.method === 'PUT' && sub === 'password') {
    if (typeof body.password !== 'string') return { status: 400, body: { error: 'bad-request' } };
    await changePassword(state, user, body.password, host);
    return { status: 200, body: { jid: user } };
  }
  if (request.method === 'DELETE' && sub === undefined) {
    await deleteAccount(state, user, host);
    return { status: 200, body: { jid: user } };
  }
  return { status: 404, body: { error: 'not-found' } };
}
