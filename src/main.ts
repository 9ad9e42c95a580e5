// The composition root: the one place that picks adapters (embedded or Redis state, the
// cluster services, the HTTP listener) and wires them to the core.
import { connectCluster, type ClusterServices } from '../cluster/node.js';
import { HttpListener } from '../metrics/http.js';
import { adminApi } from './admin/api.js';
import type { Config } from './config.js';
import { cleanUpDeadNode, nodeInbox } from './core/cluster.js';
import type { Logger } from './log.js';
import { RookeryServer } from './server.js';
import type { StateBackend } from './state/backend.js';
import { withNodeCaches } from './state/cached/index.js';
import { createMemoryBackend } from './state/memory/index.js';
import { createRedisBackend } from '../cluster/redis/index.js';

export interface RunningNode {
  server: RookeryServer;
  state: StateBackend;
  httpPort: number;
  /** Idempotent. */
  stop(): Promise<void>;
}

/** The state backend alone (for the CLI's account commands). */
export async function openState(config: Config): Promise<StateBackend> {
  if (config.redisUrl === undefined) return createMemoryBackend();
  return createRedisBackend({
    url: config.redisUrl,
    prefix: config.redisPrefix,
    cluster: config.redisCluster,
    ...(config.redisPassword !== undefined ? { password: config.redisPassword } : {}),
  });
}

export async function startNode(config: Config, log: Logger): Promise<RunningNode> {
  let cluster: ClusterServices | undefined;
  let state: StateBackend;
  if (config.redisUrl === undefined) {
    state = createMemoryBackend();
  } else {
    cluster = await connectCluster({
      url: config.redisUrl,
      prefix: config.redisPrefix,
      cluster: config.redisCluster,
      password: config.redisPassword,
      nodeId: config.nodeId,
      heartbeatMs: config.heartbeatMs,
      deadAfterMs: config.nodeDeadAfterMs,
      sweepEveryMs: config.sweepEveryMs,
      onError: (err) => log.error({ event: 'redis_error', err }),
    });
    state = withNodeCaches(cluster.state, cluster.feed);
  }
  const server = new RookeryServer(config, state, log);
  if (cluster) {
    const services = cluster;
    server.host.bus = services.bus;
    // A previous process with this node id may have died with sessions registered.
    await cleanUpDeadNode(server.host, services.bus, config.nodeId);
    await services.bus.start(nodeInbox(server.host));
    await services.startLiveness(async () => {
      log.warn({ event: 'node_evicted' });
      await server.evictAll();
    });
    await services.startSweeper((node) => cleanUpDeadNode(server.host, services.bus, node));
  }
  await server.start();
  const http = new HttpListener();
  http.route('GET', '/healthz', () => ({ status: 200, text: 'ok\n' }));
  http.route('GET', '/readyz', () => ({ status: 200, text: 'ready\n' }));
  const admin = adminApi(state, server.host, config.adminToken);
  for (const method of ['GET', 'POST', 'PUT', 'DELETE']) http.route(method, '/admin', admin);
  // Probes and metrics must be reachable on the pod address; the admin API itself refuses non-loopback
  // clients unless a token is configured (admin/api.ts).
  const httpPort = await http.listen(config.httpPort, config.bindAddress);
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
        await cluster?.close();
        await state.close();
      })();
      return stopping;
    },
  };
}
