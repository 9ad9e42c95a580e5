// A running Rookery node: the client listeners (5222 with STARTTLS, 5223 direct TLS per
// XEP-0368) over a Host with its feature modules loaded.
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer, Server as TlsServer } from 'node:tls';
import { AuthThrottle } from './c2s/auth-throttle.js';
import { Connection, type ConnectionContext } from './c2s/connection.js';
import type { Carrier } from './c2s/link.js';
import { ConnectionGate, refuse } from './c2s/connection-gate.js';
import { proxiedListener } from './c2s/proxied-listener.js';
import { loadTls, type TlsMaterial } from './c2s/tls.js';
import { contextTickets, rotateTicketKeys } from './c2s/tls-tickets.js';
import type { WebSocketAcceptor } from './c2s/websocket.js';
import type { Config } from './config.js';
import { LOOPBACK, Networks } from './config/networks.js';
import { Host } from './core/host.js';
import { ModuleManager } from './core/module.js';
import type { Logger } from './log.js';
import { defaultModules } from './modules/index.js';
import type { UploadService } from './upload/service.js';
import type { StateBackend } from './state/backend.js';
import type { C2SSession } from './core/session.js';
import { StreamError } from './xmpp/errors.js';
import type { Telemetry } from './telemetry.js';
import type { JobScheduler } from './state/scheduler.js';
import type { NodeBus, NodeHeartbeats } from './state/bus.js';
import { MemoryJobScheduler } from './state/memory/scheduler.js';
import { S2SService } from './s2s/service.js';
import { ComponentService } from './component/service.js';

/** Time a drain leaves federation even when the sessions took all of theirs: a closing handshake each way. */
const S2S_DRAIN_MIN_MS = 2000;

export class RookeryServer {
  readonly host: Host;
  readonly modules: ModuleManager;
  readonly connections = new Set<Connection>();
  /** Federation (doc/federation.md); undefined when `s2sPort` is 0 or its port could not be had. */
  s2s: S2SService | undefined;
  /** External components (XEP-0114); undefined when none is configured (`components`). */
  components: ComponentService | undefined;
  private plain: NetServer | undefined;
  private direct: NetServer | undefined;
  private tls: TlsMaterial | undefined;
  private stopTickets: (() => void) | undefined;
  /** Set by start(): what the listeners (and the WebSocket endpoint) need to admit a connection. */
  private accepting: { ctx: ConnectionContext; gate: ConnectionGate } | undefined;
  private closing: Promise<void> | undefined;
  /** Set once drain() started: readiness reports false. */
  draining = false;

  constructor(
    readonly config: Config,
    readonly state: StateBackend,
    readonly log: Logger,
    /** Adapters the modules need while they load (metrics, BullMQ jobs, the bus to other nodes). */
    adapters: { telemetry?: Telemetry; jobs?: JobScheduler; bus?: NodeBus; heartbeats?: NodeHeartbeats; upload?: UploadService } = {},
  ) {
    this.host = new Host({
      config,
      state,
      log,
      // The in-process scheduler unless the composition root brings BullMQ.
      jobs: adapters.jobs ?? new MemoryJobScheduler((err) => log.error({ event: 'job_failed', err })),
      bus: adapters.bus,
      heartbeats: adapters.heartbeats,
      telemetry: adapters.telemetry,
    });
    this.modules = new ModuleManager(this.host);
    for (const module of defaultModules(config, adapters.upload ? { upload: adapters.upload } : {})) this.modules.load(module);
  }

  /** Listens on the configured ports (0 = any free port; see ports()). */
  async start(): Promise<void> {
    this.tls = await loadTls(this.config, this.log);
    const throttle = new AuthThrottle(this.state.attempts, this.config.limits.authFailuresBeforeDelay);
    const ctx = {
      host: this.host,
      tls: this.tls,
      throttle,
      onClose: (connection: Connection) => this.connections.delete(connection),
    };
    const trusted = new Networks(this.config.trustedProxies);
    // Loopback is this machine (health checks, tests); trusted proxies carry many clients' connections.
    const gate = new ConnectionGate(this.config.limits, { exempt: (address) => LOOPBACK.has(address) || trusted.has(address) });
    this.accepting = { ctx, gate };
    const accept = (socket: Socket, directTls: boolean, clientAddress = socket.remoteAddress): void => {
      socket.setNoDelay(true);
      const refusal = gate.admit(clientAddress, this.connections.size);
      if (refusal) {
        this.host.telemetry.limitEnforced(refusal.limit);
        this.host.telemetry.streamError(refusal.error.condition);
        this.log.debug({ event: 'connection_refused', limit: refusal.limit });
        refuse(socket, this.config.domain, refusal.error);
        return;
      }
      this.connections.add(new Connection(ctx, socket, directTls, clientAddress));
    };
    const proxied = (tls: boolean): NetServer =>
      proxiedListener({
        trusted,
        ...(tls && this.tls ? { tls: { secureContext: this.tls.context, ALPNProtocols: ['xmpp-client'] } } : {}),
        accept: (socket, clientAddress) => accept(socket, tls, clientAddress),
        refused: (reason, peer, detail) => {
          this.host.telemetry.limitEnforced(reason);
          this.log.warn({ event: 'proxy_refused', reason, peer, detail }, 'a connection on a PROXY protocol port was closed');
        },
      });
    this.plain = this.config.c2sProxyProtocol ? proxied(false) : createServer((socket) => accept(socket, false));
    if (this.config.c2sTlsProxyProtocol) {
      this.direct = proxied(true);
    } else {
      // tls.createServer ignores `secureContext`: the key and certificate must be given directly.
      const direct = createTlsServer({ key: this.tls.key, cert: this.tls.cert, minVersion: 'TLSv1.2', ALPNProtocols: ['xmpp-client'] }, (socket) => accept(socket, true));
      direct.on('tlsClientError', (error) => this.log.debug({ event: 'tls_client_error', err: error.message }));
      this.direct = direct;
    }
    // STARTTLS and the PROXY listener use the context; the direct TLS server has its own keys.
    const holders = [contextTickets(this.tls.context), ...(this.direct instanceof TlsServer ? [this.direct] : [])];
    this.stopTickets = rotateTicketKeys(await this.state.secrets.obtain('tls-tickets'), holders);
    await listen(this.plain, this.config.c2sPort, this.config.bindAddress);
    await listen(this.direct, this.config.c2sTlsPort, this.config.bindAddress);
    await this.startS2S(this.tls);
    await this.startComponents();
    this.log.info({ event: 'listening', ...this.ports(), s2s: this.s2s?.port ?? 0, s2sTls: this.s2s?.tlsPort ?? 0, component: this.components?.port ?? 0, domain: this.config.domain, backend: this.state.kind });
  }

  /**
   * Server-to-server (s2s/service.ts). A port already taken leaves the node up without federation
   * (logged as an error): several nodes and test servers share one machine's 5269.
   */
  private async startS2S(tls: TlsMaterial): Promise<void> {
    if (this.config.s2sPort === 0) return;
    const secret = this.config.s2sSecret !== undefined ? Buffer.from(this.config.s2sSecret) : await this.state.secrets.obtain('dialback');
    const s2s = new S2SService(this.host, { key: tls.key, cert: tls.cert }, secret);
    try {
      await s2s.listen(this.config.s2sPort, this.config.bindAddress);
      if (this.config.s2sTlsPort !== undefined) await s2s.listenTls(this.config.s2sTlsPort, this.config.bindAddress);
      this.s2s = s2s;
    } catch (err) {
      s2s.close();
      this.log.error({ event: 's2s_listen_failed', port: this.config.s2sPort, tlsPort: this.config.s2sTlsPort, err }, 'federation is off: the s2s port cannot be listened on');
    }
  }

  /**
   * External components (component/service.ts): every node routes to them once configured; a
   * node listens for them when `componentPort` is set.
   */
  private async startComponents(): Promise<void> {
    if (this.config.components === undefined) return;
    this.components = new ComponentService(this.host);
    if (this.config.componentPort !== undefined) await this.components.listen(this.config.componentPort, this.config.bindAddress);
  }

  /**
   * XMPP over WebSocket (c2s/websocket.ts): admitted by the same gate as the c2s ports, run by the
   * same Connection. Usable once start() has run.
   */
  webSockets(): WebSocketAcceptor {
    return {
      draining: () => this.draining,
      admit: (address) => {
        if (!this.accepting || this.closing || this.draining) return new StreamError('system-shutdown');
        const refusal = this.accepting.gate.admit(address, this.connections.size);
        if (!refusal) return undefined;
        this.host.telemetry.limitEnforced(refusal.limit);
        this.host.telemetry.streamError(refusal.error.condition);
        this.log.debug({ event: 'connection_refused', limit: refusal.limit, transport: 'websocket' });
        return refusal.error;
      },
      accept: (carrier: Carrier, address: string) => {
        if (this.accepting) this.connections.add(new Connection(this.accepting.ctx, carrier, false, address));
      },
    };
  }

  ports(): { c2s: number; c2sTls: number } {
    const port = (server: NetServer | undefined): number => {
      const address = server?.address();
      return typeof address === 'object' && address ? address.port : 0;
    };
    return { c2s: port(this.plain), c2sTls: port(this.direct) };
  }

  /**
   * The cluster declared this node dead while it was away (frozen, partitioned) and removed its
   * sessions: the sockets it still holds are ghosts, so they are closed.
   */
  async evictAll(): Promise<void> {
    const sessions = [...this.connections].map((connection) => connection.session);
    for (const connection of this.connections) connection.close(new StreamError('undefined-condition', 'Session lost: this node was declared dead'));
    await Promise.all(sessions.map((session) => this.host.local.destroy(session, 'Node was declared dead')));
  }

  /**
   * Graceful drain (SIGTERM): stop accepting connections; stream-managed sessions are parked,
   * resumable on any node once their client reconnects through the load balancer (a resumption
   * under way finishes first, and sessions hibernating here are parked too); the rest are told
   * <system-shutdown/>, their unavailable presence held back for the grace period. Federation
   * drains last: the sessions' last stanzas go out on its streams. Finishes within `timeoutMs`
   * (federation gets at least S2S_DRAIN_MIN_MS).
   */
  async drain(timeoutMs: number): Promise<void> {
    this.draining = true;
    const started = Date.now();
    // A component reconnects (through the load balancer) to a node that stays.
    await this.components?.close();
    this.plain?.close();
    this.direct?.close();
    const deadline = started + timeoutMs;
    const ackWaitMs = Math.max(0, Math.min(2000, timeoutMs / 4));
    const sessions = new Set<C2SSession>([...this.connections].map((connection) => connection.session));
    for (const session of this.host.local.all()) sessions.add(session);
    const handOver = async (session: C2SSession): Promise<void> => {
      if (session.destroyed) return;
      if (await this.host.hooks.fire('session-handover', { session, ackWaitMs })) return;
      if (session.destroyed) return;
      if (session.type === 'c2s' && session.presence && session.full_jid && this.config.shutdownPresenceGraceSeconds > 0) {
        // Held back: a client that logs in again within the grace period causes no presence flap.
        await this.host.state.registry.release(session.full_jid, session.id);
        await this.host.jobs.schedule(`presence-grace ${session.full_jid}`, 'presence-grace', { full_jid: session.full_jid, presence: session.presence.toString() }, this.config.shutdownPresenceGraceSeconds * 1000);
        this.host.local.forget(session);
      }
      session.close(new StreamError('system-shutdown'));
      await this.host.local.destroy(session, 'Server shutting down');
    };
    const all = Promise.all([...sessions].map((session) => handOver(session).catch((err: unknown) => this.log.error({ event: 'drain_failed', session: session.id, err }))));
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([all.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()))))]);
    clearTimeout(timer);
    await this.s2s?.drain(Math.max(S2S_DRAIN_MIN_MS, deadline - Date.now()));
    this.log.info({ event: 'drained', sessions: sessions.size, ms: Date.now() - started, timedOut: !finished });
  }

  /** Stops listening and ends every session (idempotent: keeps its first promise). */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.stopTickets?.();
    this.s2s?.close();
    await this.components?.close();
    this.plain?.close();
    this.direct?.close();
    const sessions = [...this.connections].map((connection) => connection.session);
    for (const connection of this.connections) connection.close(new StreamError('system-shutdown'));
    await Promise.all(sessions.map((session) => this.host.local.destroy(session, 'Server shutting down')));
    // In a cluster, this node's inbox and job worker run until the cluster services close, after
    // this: what they still hand on (a stanza for a session parked by the drain, re-routed to its
    // queue) needs the modules' hooks, or it would be silently discarded. The process exits next.
    if (!this.host.bus) this.modules.unloadAll();
  }
}

function listen(server: NetServer, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
