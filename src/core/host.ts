// The server's core for one domain: hooks, IQ registry, local sessions and router, over one
// state backend. Feature modules attach to it; it knows nothing about sockets. Its adapters
// (state, jobs, bus, telemetry) are given to it by whoever assembles the server (server.ts,
// main.ts); it builds none itself.
import type { Element } from 'ltx';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { StateBackend } from '../state/backend.js';
import type { NodeBus, NodeHeartbeats, PushedState } from '../state/bus.js';
import { noTelemetry, type Telemetry } from '../telemetry.js';
import type { JobScheduler } from '../state/scheduler.js';
import { Delivery } from './delivery.js';
import { HookBus } from './hooks.js';
import type { HookCatalogue } from './events.js';
import { IqRegistry } from './iq.js';
import { LocalSessions } from './local-sessions.js';
import { Router } from './router.js';
import type { CoreServices } from './services.js';
import type { PushSource } from './state-push.js';

export interface HostAdapters {
  config: Config;
  state: StateBackend;
  log: Logger;
  /** Delayed jobs: in process, or BullMQ when Redis is used. */
  jobs: JobScheduler;
  /** Present when other nodes exist. */
  bus?: NodeBus | undefined;
  /** The other nodes' heartbeats; present when other nodes exist. */
  heartbeats?: NodeHeartbeats | undefined;
  /** Prometheus metrics; none by default. */
  telemetry?: Telemetry | undefined;
}

/** An account's disco items and nodes as `requester` may see them; errors are thrown as StanzaErrors. */
export interface AccountNodes {
  /** The <item/>s of the account's bare JID. */
  items(owner: string, requester: string): Promise<Element[]>;
  /** The children of a disco#info answer for `node`. */
  nodeInfo(owner: string, requester: string, node: string): Promise<Element[]>;
  /** The <item/>s of a disco#items answer for `node`. */
  nodeItems(owner: string, requester: string, node: string): Promise<Element[]>;
}

export class Host implements CoreServices {
  readonly config: Config;
  readonly state: StateBackend;
  readonly log: Logger;
  readonly hooks: HookBus<HookCatalogue>;
  readonly iq: IqRegistry;
  /** This node's sessions (the sockets it holds); the cluster's records are `state.registry`. */
  readonly local: LocalSessions;
  readonly router: Router;
  /** Writes to one resource: local, parked, or on another node. */
  readonly delivery: Delivery;
  /** XEP-0030 features the loaded modules advertise. */
  readonly features = new Set<string>();
  /** XEP-0030 items of the server: the services it hosts on their own domains (JID → name). */
  readonly services = new Map<string, string>();
  /**
   * What modules add to an account's disco (XEP-0163 §6: the pep identity, pubsub features), and
   * who answers its items and node queries (the PEP module: XEP-0060 §5.2, §5.3).
   */
  readonly accountDisco: { identities: Map<string, { category: string; type: string }>; features: Set<string>; nodes?: AccountNodes | undefined } = {
    identities: new Map(),
    features: new Set(),
  };
  /** XEP-0128 extended information of the server (data forms), by FORM_TYPE. */
  readonly infoForms = new Map<string, Element>();
  /** Modules that own pushed state (roster, blocking) rebuild their out-of-date pushes (state-push.ts). */
  readonly pushSources = new Map<PushedState, PushSource>();
  /** Left writable for tests that record what is reported (test/limits). */
  telemetry: Telemetry;
  readonly jobs: JobScheduler;
  readonly bus: NodeBus | undefined;
  readonly heartbeats: NodeHeartbeats | undefined;

  constructor(adapters: HostAdapters) {
    this.config = adapters.config;
    this.state = adapters.state;
    this.log = adapters.log;
    this.jobs = adapters.jobs;
    this.bus = adapters.bus;
    this.heartbeats = adapters.heartbeats;
    this.telemetry = adapters.telemetry ?? noTelemetry;
    this.hooks = new HookBus<HookCatalogue>(this.log);
    this.iq = new IqRegistry(this.log);
    this.local = new LocalSessions(this);
    this.router = new Router(this);
    this.delivery = new Delivery(this, this.local, (stanza) => this.router.send(stanza));
  }

  get domain(): string {
    return this.config.domain;
  }

  get nodeId(): string {
    return this.config.nodeId;
  }
}
