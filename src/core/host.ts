// The server's core for one domain: hooks, IQ registry, session manager and router, over one
// state backend. Feature modules attach to it; it knows nothing about sockets.
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { StateBackend } from '../state/backend.js';
import type { NodeBus } from '../state/bus.js';
import { noTelemetry, type Telemetry } from '../telemetry.js';
import type { JobScheduler } from '../state/scheduler.js';
import { MemoryJobScheduler } from '../state/memory/scheduler.js';
import { HookBus } from './hooks.js';
import type { HookCatalogue } from './events.js';
import { IqRegistry } from './iq.js';
import { Router } from './router.js';
import { LocalSessions } from './local-sessions.js';
import type { PushedState, PushSource } from './state-push.js';

export class Host {
  readonly hooks: HookBus<HookCatalogue>;
  readonly iq: IqRegistry;
  readonly local: LocalSessions;
  readonly router: Router;
  /** XEP-0030 features the loaded modules advertise. */
  readonly features = new Set<string>();
  /** Modules that own pushed state (roster, blocking) rebuild their out-of-date pushes (state-push.ts). */
  readonly pushSources = new Map<PushedState, PushSource>();
  /** Set by the composition root (Prometheus metrics). */
  telemetry: Telemetry = noTelemetry;
  /** Delayed jobs; the composition root swaps in BullMQ when Redis is used. */
  jobs: JobScheduler;
  /** Set by the composition root when other nodes exist. */
  bus: NodeBus | undefined;

  constructor(
    readonly config: Config,
    readonly state: StateBackend,
    readonly log: Logger,
  ) {
    this.hooks = new HookBus<HookCatalogue>(log);
    this.iq = new IqRegistry(log);
    this.local = new LocalSessions(this);
    this.router = new Router(this);
    this.jobs = new MemoryJobScheduler((err) => log.error({ event: 'job_failed', err }));
  }

  get domain(): string {
    return this.config.domain;
  }

  get nodeId(): string {
    return this.config.nodeId;
  }
}
