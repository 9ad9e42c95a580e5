// The composition root: the one place that picks adapters (embedded or Redis state, the HTTP
// listener) and wires them to the core.
import { createRedisBackend } from '../cluster/redis/index.js';
import { HttpListener } from '../metrics/http.js';
import { adminApi } from './admin/api.js';
import type { Config } from './config.js';
import type { Logger } from './log.js';
import { RookeryServer } from './server.js';
import type { StateBackend } from './state/backend.js';
import { createMemoryBackend } from './state/memory/index.js';

export interface RunningNode {
  server: RookeryServer;
  state: StateBackend;
  httpPort: number;
  /** Idempotent. */
  stop(): Promise<void>;
}

export async function openState(config: Config): Promise<StateBackend> {
  if (config.redisUrl === undefined) return createMemoryBackend();
  return createRedisBackend({ url: config.redisUrl, prefix: config.redisPrefix });
}

export async function startNode(config: Config, log: Logger): Promise<RunningNode> {
  const state = await openState(config);
  await forgetOwnStaleSessions(state, config.nodeId, log);
  const server = new RookeryServer(config, state, log);
  await server.start();
  const http = new HttpListener();
  http.route('GET', '/healthz', () => ({ status: 200, text: 'ok\n' }));
  http.route('GET', '/readyz', () => ({ status: 200, text: 'ready\n' }));
  const admin = adminApi(state, server.host, config.adminToken);
  for (const method of ['GET', 'POST', 'PUT', 'DELETE']) http.route(method, '/admin', admin);
  const httpPort = await http.listen(config.httpPort, config.adminToken === undefined ? '127.0.0.1' : config.bindAddress);
  log.info({ event: 'http_listening', port: httpPort });
  let stopping: Promise<void> | undefined;
  return {
    server,
    state,
    httpPort,
    stop() {
      stopping ??= (async () => {
        await http.close();
        await server.close();
        await state.close();
      })();
      return stopping;
    },
  };
}

/** Records this node id left behind when its previous process died (same id after a restart). */
async function forgetOwnStaleSessions(state: StateBackend, nodeId: string, log: Logger): Promise<void> {
  let removed = 0;
  for await (const record of state.sessions.byNode(nodeId)) {
    if (await state.sessions.release(record.full_jid, record.session_id)) removed += 1;
  }
  if (removed > 0) log.warn({ event: 'stale_sessions_removed', count: removed });
}
