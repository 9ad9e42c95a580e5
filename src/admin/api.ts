// The admin API on the HTTP port, for `rookery user …` and `rookery sessions` against a node
// running the embedded store. Every route is behind the guard of admin/auth.ts (bearer token,
// own origin, JSON bodies).
import type { Host } from '../core/host.js';
import type { HttpGuard, HttpHandler, HttpReply, HttpRoute } from '../http.js';
import type { StateBackend } from '../state/backend.js';
import { accountJid, AdminError, changePassword, createAccount, deleteAccount } from '../core/accounts.js';

const STATUS: Record<AdminError['failure'], number> = {
  'invalid-jid': 400,
  'wrong-domain': 400,
  'invalid-password': 400,
  exists: 409,
  'not-found': 404,
};

const BAD_REQUEST: HttpReply = { status: 400, body: { error: 'bad-request' } };

/** GET/POST /admin/users, PUT /admin/users/JID/password, DELETE /admin/users/JID, GET /admin/sessions. */
export function adminRoutes(state: StateBackend, host: Host, guard: HttpGuard): HttpRoute[] {
  const route = (method: HttpRoute['method'], path: string, handler: HttpHandler): HttpRoute => ({ method, path, guard, handler: answeringAdminErrors(handler) });
  return [
    route('GET', '/admin/sessions', async () => {
      const sessions = [];
      for await (const record of state.registry.all()) sessions.push({ jid: record.full_jid, node: record.node, priority: record.priority, available: record.presence !== undefined, interested: record.interested });
      return { status: 200, body: sessions };
    }),
    route('GET', '/admin/users', async () => {
      const users = [];
      for await (const user of state.accounts.list()) users.push(user);
      return { status: 200, body: users.sort() };
    }),
    route('POST', '/admin/users', async (request) => {
      const jid = stringField(request.body, 'jid');
      const password = stringField(request.body, 'password');
      if (jid === undefined || password === undefined) return BAD_REQUEST;
      const user = accountJid(jid, host.domain);
      await createAccount(state, user, password);
      return { status: 201, body: { jid: user } };
    }),
    route('PUT', '/admin/users/:jid/password', async (request) => {
      const password = stringField(request.body, 'password');
      if (password === undefined) return BAD_REQUEST;
      const user = accountJid(request.params.jid ?? '', host.domain);
      await changePassword(state, user, password, host);
      return { status: 200, body: { jid: user } };
    }),
    route('DELETE', '/admin/users/:jid', async (request) => {
      const user = accountJid(request.params.jid ?? '', host.domain);
      await deleteAccount(state, user, host);
      return { status: 200, body: { jid: user } };
    }),
  ];
}

function answeringAdminErrors(handler: HttpHandler): HttpHandler {
  return async (request) => {
    try {
      return await handler(request);
    } catch (error) {
      if (error instanceof AdminError) return { status: STATUS[error.failure], body: { error: error.failure, message: error.message } };
      throw error;
    }
  };
}

function stringField(body: unknown, name: string): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const value = (body as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}
