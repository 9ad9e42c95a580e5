// The composition root: the one place that picks adapters (embedded or Redis state, the
// cluster services, the HTTP listener) and wires them to the core.
import type { ClusterServices } from '../cluster/node.js';
import { livenessHandler, metricsHandler, readinessHandler, type ReadinessCheck } from '../metrics/health.js';
import { DEFAULT_HTTP_LIMITS, HttpListener } from '../metrics/http.js';
import { instrumentBackend } from '../metrics/store.js';
import { PrometheusTelemetry } from '../metrics/telemetry.js';
import { adminRoutes } from './admin/api.js';
import { hostMetaRoutes, xmppWebSocketRoute } from './c2s/websocket.js';
import { adminGuard } from './admin/auth.js';
import { loadOrCreateAdminToken } from './admin/token.js';
import type { Config } from './config.js';
import { bouncePending, cleanUpDeadNode, nodeInbox, routeAgain } from './core/node-inbox.js';
import { OutageBuffer, type Reroute } from './core/outage-buffer.js';
import type { Logger } from './log.js';
import { RookeryServer } from './server.js';
import { uploadRoutes } from './upload/routes.js';
import { openUpload } from './upload/service.js';
import type { StateBackend } from './state/backend.js';
import { withNodeCaches } from './state/cached/index.js';
import { createDurableBackend } from './state/durable/index.js';

export interface RunningNode {
  server: RookeryServer;
  state: StateBackend;
  httpPort: number;
  /** What /metrics exports. */
  telemetry: PrometheusTelemetry;
  /** Set as drain() starts: /readyz answers 503 from then on, so the load balancer sends no new clients. */
  readonly draining: boolean;
  /** Takes the node out of readiness at once, then hands its sessions over (RookeryServer.drain). */
  drain(): Promise<void>;
  /** Idempotent. */
  stop(): Promise<void>;
}

/**
 * The state alone (for the CLI's account commands). The embedded store is refused while a node
 * holds its data directory (the CLI then goes through that node's admin API). On Redis it is
 * checked against the prefix's deployment record; `domainGiven`: the domain was configured rather
 * than defaulted, and if not, the recorded one is adopted, so the CLI never creates accounts on a
 * domain the cluster does not serve.
 */
export async function openState(config: Config, options: { domainGiven: boolean }): Promise<{ state: StateBackend; domain: string }> {
  if (config.redisUrl === undefined) return { state: createDurableBackend(config.dataDir), domain: config.domain };
  // Loaded only with Redis: ioredis and BullMQ cost a node on the embedded store ~0.3 s at start.
  const { openDeployment } = await import('../cluster/redis/index.js');
  const { state, deployment } = await openDeployment({
    url: config.redisUrl,
    prefix: config.redisPrefix,
    cluster: config.redisCluster,
    ...(config.redisPassword !== undefined ? { password: config.redisPassword } : {}),
    deployment: { domain: options.domainGiven ? config.domain : undefined, record: options.domainGiven },
  });
  return { state, domain: deployment?.domains[0] ?? config.domain };
}

export async function startNode(config: Config, log: Logger): Promise<RunningNode> {
  const telemetry = new PrometheusTelemetry();
  let cluster: ClusterServices | undefined;
  let state: StateBackend;
  if (config.redisUrl === undefined) {
    // Accounts, rosters, offline messages and blocklists on disk; sessions in memory (state/durable).
    state = instrumentBackend(createDurableBackend(config.dataDir), telemetry.registry);
  } else {
    const { connectCluster } = await import('../cluster/node.js');
    cluster = await connectCluster({
      url: config.redisUrl,
      prefix: config.redisPrefix,
      cluster: config.redisCluster,
      password: config.redisPassword,
      nodeId: config.nodeId,
      domain: config.domain,
      heartbeatMs: config.heartbeatMs,
      deadAfterMs: config.nodeDeadAfterMs,
      sweepEveryMs: config.sweepEveryMs,
      onError: (err) => log.error({ event: 'redis_error', err }),
      telemetry,
    });
    // Timed beneath the node caches: what the histogram shows are real Redis round trips.
    state = withNodeCaches(instrumentBackend(cluster.state, telemetry.registry), cluster.feed);
  }
  const services = cluster;
  // Envelopes for other nodes wait out a Redis outage here; one given up on is bounced by the
  // host's router (the host is built next, and nothing is sent before it exists).
  let bounce: ReturnType<typeof bouncePending> | undefined;
  let reroute: Reroute | undefined;
  const outageBuffer = services
    ? new OutageBuffer(
        services.bus,
        {
          maxEnvelopes: config.limits.busPendingEnvelopes,
          maxBytes: config.limits.busPendingBytes,
          maxWaitMs: config.limits.busPendingSeconds * 1000,
          retryMs: 250,
        },
        (envelope, reason) => (bounce ? bounce(envelope, reason) : Promise.resolve()),
        (envelope) => (reroute ? reroute(envelope) : Promise.resolve()),
        telemetry,
        (err) => log.warn({ event: 'bus_send_deferred', err }),
      )
    : undefined;
  // HTTP upload (XEP-0363): its URLs are on the HTTP port, whose number is known once it listens.
  let httpPort = config.httpPort;
  const upload = await openUpload(config, state, log, () => config.httpPublicUrl ?? `http://${config.domain}:${httpPort}`);
  // The telemetry goes in with the construction: modules register their gauges as they load.
  const server = new RookeryServer(config, state, log, {
    ...(upload ? { upload } : {}),
    telemetry,
    ...(cluster ? { jobs: cluster.jobs } : {}),
    ...(outageBuffer ? { bus: outageBuffer } : {}),
    ...(cluster ? { heartbeats: { lastBeat: (node: string) => cluster.lastBeat(node) } } : {}),
  });
  bounce = bouncePending(server.host);
  reroute = routeAgain(server.host);
  cluster?.startJobs();
  telemetry.observeNode(() => ({
    connections: [...server.connections].map((connection) => ({ state: connection.session.type, transport: connection.transport })),
  }));
  if (services && outageBuffer) {
    const bus = outageBuffer;
    // A previous process with this node id may have died with sessions registered.
    await cleanUpDeadNode(server.host, bus, config.nodeId);
    await bus.start(nodeInbox(server.host));
    await services.startLiveness(
      async () => {
        log.warn({ event: 'node_evicted' });
        await server.evictAll();
      },
      // The node is the source of truth for the sockets it holds.
      async () => {
        await server.host.local.restore();
      },
    );
    await services.startSweeper((node) => cleanUpDeadNode(server.host, bus, node));
  }
  // Exported by one node per cluster; on the embedded store, by the only node there is.
  telemetry.observeCluster({
    nodeId: config.nodeId,
    liveNodes: services ? () => services.liveNodes() : async () => [config.nodeId],
    sessions: () => state.registry.count(),
    accounts: () => state.accounts.count(),
  });
  await server.start();
  let draining = false;
  const readiness: ReadinessCheck[] = [{ name: 'draining', check: () => !draining }];
  if (services) {
    readiness.push(
      { name: 'redis', check: async () => (await services.ping(), true) },
      // Registered: the heartbeat runs and no sweeper has evicted this node since.
      { name: 'registered', check: async () => (await services.liveNodes()).includes(config.nodeId) },
    );
  }
  const http = new HttpListener(log, {
    ...DEFAULT_HTTP_LIMITS,
    // XMPP WebSockets are HTTP connections too; the c2s admission (maxConnections) bounds them.
    maxConnections: config.limits.httpMaxConnections + (config.limits.maxConnections > 0 ? config.limits.maxConnections : Number.MAX_SAFE_INTEGER),
    requestTimeoutMs: config.limits.httpRequestTimeoutMs,
  }, (route, status) => telemetry.httpResponse(route, status));
  http.route({ method: 'GET', path: '/healthz', handler: livenessHandler() });
  http.route({ method: 'GET', path: '/readyz', handler: readinessHandler(readiness) });
  http.route({ method: 'GET', path: '/metrics', handler: metricsHandler(telemetry) });
  const tokenSource = await loadOrCreateAdminToken(config.adminToken, config.dataDir);
  if ('failure' in tokenSource) log.error({ event: 'admin_token_unavailable', file: tokenSource.file, reason: tokenSource.failure });
  else log.info({ event: 'admin_token_ready', origin: tokenSource.origin, ...(tokenSource.file ? { file: tokenSource.file } : {}) });
  const guard = adminGuard({ token: 'token' in tokenSource ? tokenSource.token : undefined, port: () => httpPort });
  for (const route of adminRoutes(state, server.host, guard)) http.route(route);
  // XMPP over WebSocket (RFC 7395) and its discovery (XEP-0156).
  for (const route of hostMetaRoutes(config)) http.route(route);
  http.webSocket(xmppWebSocketRoute(config, server.webSockets()));
  if (upload) {
    const { routes, stream } = uploadRoutes(upload);
    for (const route of routes) http.route(route);
    http.stream(stream);
    upload.startSweeping();
  }
  // Probes and metrics must be reachable on the pod address; the admin API needs its token from every address.
  httpPort = await http.listen(config.httpPort, config.bindAddress);
  log.info({ event: 'http_listening', port: httpPort });
  let stopping: Promise<void> | undefined;
  return {
    server,
    state,
    httpPort,
    telemetry,
    get draining() {
      return draining;
    },
    async drain() {
      if (draining) return;
      log.info({ event: 'draining' });
      draining = true;
      await server.drain(config.drainTimeoutSeconds * 1000);
    },
    stop() {
      stopping ??= (async () => {
        await http.close();
        upload?.close();
        // Nothing more arrives from other nodes or the job queue while the sessions end.
        await services?.stopIntake();
        await server.close();
        // What other nodes sent here and this node never read goes on to where its recipients
        // are now (parked queues, other nodes): a replacement under another name (a new pod)
        // would never read this inbox. Sweepers take it again for a while for late arrivals.
        if (outageBuffer) {
          const left = await outageBuffer.takeInbox(config.nodeId, nodeInbox(server.host)).catch((err: unknown) => {
            log.error({ event: 'inbox_handover_failed', err });
            return 0;
          });
          if (left > 0) log.info({ event: 'inbox_handed_over', stanzas: left });
        }
        await outageBuffer?.close();
        await services?.close();
        await state.close();
      })();
      return stopping;
    },
  };
}
