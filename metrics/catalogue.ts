// Every metric a Rookery node exports, defined once: name, help and a fixed label set, on one
// dedicated registry (never prom-client's global one). README.md "Monitoring" lists the same.
// Names follow the Prometheus conventions: the `rookery_` prefix, base units (seconds), `_total`
// on counters. Label values come from small fixed sets; a JID is never one.
import { collectDefaultMetrics, Counter, Gauge, type Registry } from 'prom-client';
import type { PendingOutcome, RouteOutcome, SmResumeFailure, StanzaLabel } from '../src/telemetry.js';
import type { SessionType, Transport } from '../src/xmpp/kinds.js';
import { BucketHistogram, Tally } from './tally.js';

export const PREFIX = 'rookery_';
export const CONNECTION_STATES: readonly SessionType[] = ['c2s_unauthed', 'c2s_unbound', 'c2s'];
export const TRANSPORTS: readonly Transport[] = ['plain', 'starttls', 'directtls', 'websocket'];
const STANZA_KINDS: readonly StanzaLabel[] = ['message', 'presence', 'iq', 'other'];
const ROUTE_OUTCOMES: readonly RouteOutcome[] = ['local', 'remote', 'offline', 'bounced', 'discarded', 'dropped'];
const SM_RESUME_FAILURES: readonly SmResumeFailure[] = ['item-not-found', 'not-authorized', 'unexpected-request', 'internal-server-error'];
const PENDING_OUTCOMES: readonly PendingOutcome[] = ['sent', 'expired', 'overflow'];

/** Latency of one store call: a Redis round trip is ~0.1–1 ms; the alert fires at 50 ms. */
const STORE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
/** Send on one node to handling on another: a bus round trip plus queueing. */
const CROSS_NODE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** Cluster-wide figures, exported by one node only (see ScrapeSources.cluster). */
export interface ClusterFigures {
  nodes: number;
  sessions: number;
  accounts: number;
}

/** What the gauges read at scrape time; filled in by PrometheusTelemetry. */
export interface ScrapeSources {
  connections: (() => Iterable<{ state: SessionType; transport: Transport }>) | undefined;
  hibernating: Set<() => number>;
  pendingEnvelopes: Set<() => number>;
  /** undefined: this node does not export the cluster-wide figures (now, or at all). */
  cluster: (() => Promise<ClusterFigures | undefined>) | undefined;
}

/** The per-stanza counts, kept in plain numbers and added to their counters when collected. */
export interface Tallies {
  readonly stanzasReceived: Tally<'kind', StanzaLabel>;
  readonly stanzasSent: Tally<'kind', StanzaLabel>;
  readonly stanzasRouted: Tally<'outcome', RouteOutcome>;
}

export interface Catalogue {
  readonly registry: Registry;
  readonly sources: ScrapeSources;
  readonly tallies: Tallies;
  readonly connections: Gauge<'state' | 'transport'>;
  readonly authentications: Counter<'mechanism' | 'outcome'>;
  readonly stanzasReceived: Counter<'kind'>;
  readonly stanzasSent: Counter<'kind'>;
  readonly stanzasRouted: Counter<'outcome'>;
  readonly streamErrors: Counter<'condition'>;
  readonly busEnvelopesSent: Counter;
  readonly busEnvelopesReceived: Counter;
  readonly crossNodeLatency: BucketHistogram;
  readonly changeNoticesPublished: Counter;
  readonly changeNoticesReceived: Counter;
  readonly storeCallDuration: BucketHistogram<'port' | 'method'>;
  readonly storeErrors: Counter<'port' | 'method'>;
  readonly smEnabled: Counter;
  readonly s2sEvents: Counter<'event'>;
  readonly componentEvents: Counter<'event'>;
  readonly pushNotifications: Counter<'outcome'>;
  readonly smResumed: Counter;
  readonly smResumeFailures: Counter<'reason'>;
  readonly smHibernating: Gauge;
  readonly jobs: Counter<'job_name' | 'outcome'>;
  readonly limitsEnforced: Counter<'limit'>;
  readonly uncaughtErrors: Counter<'kind'>;
  readonly httpResponses: Counter<'route' | 'status'>;
  readonly stateRestores: Counter;
  readonly sessionsReasserted: Counter<'outcome'>;
  readonly pendingEnvelopes: Gauge;
  readonly pendingEnvelopeOutcomes: Counter<'outcome'>;
  readonly clusterNodes: OptionalGauge;
  readonly clusterSessions: OptionalGauge;
  readonly clusterAccounts: OptionalGauge;
}

/**
 * An unlabelled gauge that can also export no sample at all (prom-client's Gauge always exports
 * 0): the cluster-wide figures come from one node, and the others must stay silent, not say 0.
 */
export class OptionalGauge extends Gauge {
  value: number | undefined;

  override async get(): ReturnType<Gauge['get']> {
    const metric = await super.get();
    return { ...metric, values: this.value === undefined ? [] : [{ value: this.value, labels: {} }] };
  }
}

const catalogues = new WeakMap<Registry, Catalogue>();

/** The metrics of `registry`, defined on first use (so every caller shares one definition). */
export function catalogue(registry: Registry): Catalogue {
  const existing = catalogues.get(registry);
  if (existing) return existing;
  const created = define(registry);
  catalogues.set(registry, created);
  return created;
}

function define(registry: Registry): Catalogue {
  const metrics = defineMetrics(registry);
  // Series of a fixed label set exist from the start at 0, so that rate() and increase() see
  // their first event (a series born at 1 shows no increase) and "dropped" reads 0, not nothing.
  for (const kind of STANZA_KINDS) {
    metrics.stanzasReceived.inc({ kind }, 0);
    metrics.stanzasSent.inc({ kind }, 0);
  }
  for (const outcome of ROUTE_OUTCOMES) metrics.stanzasRouted.inc({ outcome }, 0);
  for (const reason of SM_RESUME_FAILURES) metrics.smResumeFailures.inc({ reason }, 0);
  for (const outcome of PENDING_OUTCOMES) metrics.pendingEnvelopeOutcomes.inc({ outcome }, 0);
  return metrics;
}

function defineMetrics(registry: Registry): Catalogue {
  const registers = [registry];
  const sources: ScrapeSources = { connections: undefined, hibernating: new Set(), pendingEnvelopes: new Set(), cluster: undefined };
  const tallies: Tallies = { stanzasReceived: new Tally('kind'), stanzasSent: new Tally('kind'), stanzasRouted: new Tally('outcome') };
  collectDefaultMetrics({ register: registry, prefix: PREFIX });

  // The cluster-wide figures are read once per scrape, however many gauges show them.
  let pending: Promise<ClusterFigures | undefined> | undefined;
  const clusterFigures = (): Promise<ClusterFigures | undefined> => {
    const read = sources.cluster;
    if (!read) return Promise.resolve(undefined);
    pending ??= read()
      .catch(() => undefined)
      .finally(() => (pending = undefined));
    return pending;
  };
  const clusterGauge = (name: string, help: string, pick: (figures: ClusterFigures) => number): OptionalGauge =>
    new OptionalGauge({
      name: `${PREFIX}${name}`,
      help,
      registers,
      async collect() {
        const figures = await clusterFigures();
        (this as OptionalGauge).value = figures ? pick(figures) : undefined;
      },
    });

  return {
    registry,
    sources,
    tallies,
    connections: new Gauge({
      name: `${PREFIX}connections`,
      help: 'Client connections open on this node, by state (c2s_unauthed: before SASL, c2s_unbound: authenticated, not bound, c2s: bound) and transport.',
      labelNames: ['state', 'transport'],
      registers,
      collect() {
        this.reset();
        for (const state of CONNECTION_STATES) for (const transport of TRANSPORTS) this.set({ state, transport }, 0);
        for (const connection of sources.connections?.() ?? []) this.inc({ state: connection.state, transport: connection.transport });
      },
    }),
    authentications: new Counter({
      name: `${PREFIX}authentications_total`,
      help: 'SASL authentications completed, by mechanism and outcome (success, failure).',
      labelNames: ['mechanism', 'outcome'],
      registers,
    }),
    stanzasReceived: new Counter({
      name: `${PREFIX}stanzas_received_total`,
      help: 'Stanzas received from bound clients, by kind (message, presence, iq).',
      labelNames: ['kind'],
      registers,
      collect() {
        tallies.stanzasReceived.addTo(this);
      },
    }),
    stanzasSent: new Counter({
      name: `${PREFIX}stanzas_sent_total`,
      help: 'Stanzas written to clients, by kind (message, presence, iq, other: stream-level elements).',
      labelNames: ['kind'],
      registers,
      collect() {
        tallies.stanzasSent.addTo(this);
      },
    }),
    stanzasRouted: new Counter({
      name: `${PREFIX}stanzas_routed_total`,
      help: 'Where routed stanzas ended: local, remote (another node), offline, bounced (error reply), discarded (as the RFCs require), dropped (a failure; must stay 0).',
      labelNames: ['outcome'],
      registers,
      collect() {
        tallies.stanzasRouted.addTo(this);
      },
    }),
    streamErrors: new Counter({
      name: `${PREFIX}stream_errors_total`,
      help: 'Stream errors sent to clients, by RFC 6120 condition.',
      labelNames: ['condition'],
      registers,
    }),
    busEnvelopesSent: new Counter({
      name: `${PREFIX}bus_envelopes_sent_total`,
      help: 'Stanza envelopes this node sent to other nodes over the node bus.',
      registers,
    }),
    busEnvelopesReceived: new Counter({
      name: `${PREFIX}bus_envelopes_received_total`,
      help: 'Stanza envelopes this node received from other nodes over the node bus.',
      registers,
    }),
    crossNodeLatency: new BucketHistogram({
      name: `${PREFIX}cross_node_delivery_seconds`,
      help: 'Time from sending a stanza envelope on one node to handling it on this one.',
      buckets: CROSS_NODE_BUCKETS,
      registers,
    }),
    changeNoticesPublished: new Counter({
      name: `${PREFIX}change_notices_published_total`,
      help: 'Cache change notices this node published (Redis pub/sub).',
      registers,
    }),
    changeNoticesReceived: new Counter({
      name: `${PREFIX}change_notices_received_total`,
      help: 'Cache change notices this node received (Redis pub/sub, its own included).',
      registers,
    }),
    storeCallDuration: new BucketHistogram({
      name: `${PREFIX}store_call_duration_seconds`,
      help: 'Duration of state store calls (Redis round trips with the Redis store), by port and method.',
      labelNames: ['port', 'method'],
      buckets: STORE_BUCKETS,
      registers,
    }),
    storeErrors: new Counter({
      name: `${PREFIX}store_errors_total`,
      help: 'State store calls that failed, by port and method.',
      labelNames: ['port', 'method'],
      registers,
    }),
    s2sEvents: new Counter({
      name: `${PREFIX}s2s_events_total`,
      help: 'Server-to-server federation: streams opened (stream_out, stream_in), stanzas written and read (stanza_out, stanza_in), streams that failed (failure), stanzas bounced for a remote domain (bounce). No domain labels.',
      labelNames: ['event'],
      registers,
    }),
    componentEvents: new Counter({
      name: `${PREFIX}component_events_total`,
      help: 'External components (XEP-0114): connections authenticated (connected) and refused (refused), stanzas read (stanza_in) and written (stanza_out), stanzas forwarded to the node holding the component (forwarded), stanzas bounced because none holds it (bounce). No domain labels.',
      labelNames: ['event'],
      registers,
    }),
    pushNotifications: new Counter({
      name: `${PREFIX}push_notifications_total`,
      help: 'Push notifications (XEP-0357) by outcome: answered with a result (published), sent again after a timeout or temporary error (retried), registration disabled by a permanent error (disabled), given up after the last try (gave_up).',
      labelNames: ['outcome'],
      registers,
    }),
    smEnabled: new Counter({
      name: `${PREFIX}sm_enabled_total`,
      help: 'Sessions that enabled stream management (XEP-0198).',
      registers,
    }),
    smResumed: new Counter({
      name: `${PREFIX}sm_resumed_total`,
      help: 'Hibernating sessions resumed (XEP-0198).',
      registers,
    }),
    smResumeFailures: new Counter({
      name: `${PREFIX}sm_resume_failures_total`,
      help: 'Stream resumptions refused (XEP-0198), by the condition sent.',
      labelNames: ['reason'],
      registers,
    }),
    smHibernating: new Gauge({
      name: `${PREFIX}sm_hibernating_sessions`,
      help: 'Sessions hibernating on this node (XEP-0198: detached, awaiting resumption).',
      registers,
      collect() {
        let total = 0;
        for (const count of sources.hibernating) total += count();
        this.set(total);
      },
    }),
    jobs: new Counter({
      name: `${PREFIX}jobs_total`,
      // Not `job`: Prometheus sets that label on every series (the scrape job) and would rename ours.
      help: 'Maintenance jobs (BullMQ) this node ran, by job name and outcome (completed, failed).',
      labelNames: ['job_name', 'outcome'],
      registers,
    }),
    limitsEnforced: new Counter({
      name: `${PREFIX}limits_enforced_total`,
      help: 'Times a configured limit was enforced, by limit.',
      labelNames: ['limit'],
      registers,
    }),
    uncaughtErrors: new Counter({
      name: `${PREFIX}uncaught_errors_total`,
      help: 'Errors that escaped every connection and request handler and reached the process, by kind (exception, rejection). Should stay 0.',
      labelNames: ['kind'],
      registers,
    }),
    httpResponses: new Counter({
      name: `${PREFIX}http_responses_total`,
      help: 'Answers on the HTTP port, by route pattern (unmatched: no route; unparsed: not HTTP the parser accepts) and status code.',
      labelNames: ['route', 'status'],
      registers,
    }),
    stateRestores: new Counter({
      name: `${PREFIX}state_restores_total`,
      help: 'Times this node wrote its sessions back after Redis lost data or the connection to it came back.',
      registers,
    }),
    sessionsReasserted: new Counter({
      name: `${PREFIX}sessions_reasserted_total`,
      help: 'Session records written back by this node, by outcome (written: it was missing; kept; replaced: another bind held it, the session ended).',
      labelNames: ['outcome'],
      registers,
    }),
    pendingEnvelopes: new Gauge({
      name: `${PREFIX}bus_pending_envelopes`,
      help: 'Stanzas for other nodes waiting on this node for Redis to come back.',
      registers,
      collect() {
        let total = 0;
        for (const count of sources.pendingEnvelopes) total += count();
        this.set(total);
      },
    }),
    pendingEnvelopeOutcomes: new Counter({
      name: `${PREFIX}bus_pending_total`,
      help: 'Stanzas for other nodes that waited for Redis, by outcome (sent once it was back; bounced as expired or overflow).',
      labelNames: ['outcome'],
      registers,
    }),
    clusterNodes: clusterGauge('cluster_nodes', 'Live nodes in the cluster (exported by one node only).', (figures) => figures.nodes),
    clusterSessions: clusterGauge('cluster_sessions', 'Sessions in the cluster-wide registry (exported by one node only).', (figures) => figures.sessions),
    clusterAccounts: clusterGauge('cluster_accounts', 'Accounts in the store (exported by one node only).', (figures) => figures.accounts),
  };
}
