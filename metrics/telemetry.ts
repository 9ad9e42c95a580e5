// The Telemetry port (src/telemetry.ts) on Prometheus: the core reports events, this counts
// them; what the node holds (connections, hibernating sessions, cluster-wide figures) is read
// when Prometheus scrapes.
import { Registry } from 'prom-client';
import type { ComponentEvent, Direction, PushOutcome, NodeSnapshot, PendingOutcome, RouteOutcome, S2SEvent, SmResumeFailure, StanzaLabel, Telemetry, UncaughtKind } from '../src/telemetry.js';
import type { ReassertOutcome } from '../src/state/sessions.js';
import { catalogue, type Catalogue, type ClusterFigures } from './catalogue.js';
import { withTimeout } from './timeout.js';

/** A label value longer than this, or shaped otherwise, is reported as "other". */
const LABEL_SHAPE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,47}$/;
/** Distinct values one free-form label may take before new ones are reported as "other". */
const MAX_VALUES_PER_LABEL = 32;
const CLUSTER_READ_TIMEOUT_MS = 1_000;

/** How a node reads the cluster-wide figures. */
export interface ClusterSource {
  nodeId: string;
  /** Node ids of the live nodes (the node's own included while it is registered). */
  liveNodes(): Promise<string[]>;
  sessions(): Promise<number>;
  accounts(): Promise<number>;
}

export class PrometheusTelemetry implements Telemetry {
  readonly registry: Registry;
  private readonly m: Catalogue;
  /** Values seen per free-form label (mechanism, condition, limit, job, reason). */
  private readonly seen = new Map<string, Set<string>>();

  constructor(registry: Registry = new Registry()) {
    this.registry = registry;
    this.m = catalogue(registry);
  }

  authentication(mechanism: string, outcome: 'success' | 'failure'): void {
    this.m.authentications.inc({ mechanism: this.bounded('mechanism', mechanism), outcome });
  }

  // Per stanza: counted in plain numbers, added to the counters when they are collected (tally.ts).
  stanzaIn(kind: StanzaLabel): void {
    this.m.tallies.stanzasReceived.add(kind);
  }

  stanzaOut(kind: StanzaLabel): void {
    this.m.tallies.stanzasSent.add(kind);
  }

  routed(outcome: RouteOutcome): void {
    this.m.tallies.stanzasRouted.add(outcome);
  }

  streamError(condition: string): void {
    this.m.streamErrors.inc({ condition: this.bounded('condition', condition) });
  }

  busEnvelope(direction: Direction): void {
    (direction === 'in' ? this.m.busEnvelopesReceived : this.m.busEnvelopesSent).inc();
  }

  crossNodeLatency(seconds: number): void {
    if (Number.isFinite(seconds) && seconds >= 0) this.m.crossNodeLatency.observe(seconds);
  }

  changeNotice(direction: Direction): void {
    (direction === 'in' ? this.m.changeNoticesReceived : this.m.changeNoticesPublished).inc();
  }

  /** `route` is a route pattern of the listener, `unmatched` or `unparsed`: a fixed set, so not bounded here. */
  httpResponse(route: string, status: number): void {
    this.m.httpResponses.inc({ route, status: String(status) });
  }

  limitEnforced(limit: string): void {
    this.m.limitsEnforced.inc({ limit: this.bounded('limit', limit) });
  }

  uncaughtError(kind: UncaughtKind): void {
    this.m.uncaughtErrors.inc({ kind });
  }

  job(name: string, outcome: 'completed' | 'failed'): void {
    this.m.jobs.inc({ job_name: this.bounded('job_name', name), outcome });
  }

  s2s(event: S2SEvent): void {
    this.m.s2sEvents.inc({ event });
  }

  component(event: ComponentEvent): void {
    this.m.componentEvents.inc({ event });
  }

  push(outcome: PushOutcome): void {
    this.m.pushNotifications.inc({ outcome });
  }

  smEnabled(): void {
    this.m.smEnabled.inc();
  }

  smResumed(): void {
    this.m.smResumed.inc();
  }

  smResumeFailed(reason: SmResumeFailure): void {
    this.m.smResumeFailures.inc({ reason: this.bounded('reason', reason) });
  }

  hibernating(count: () => number): () => void {
    // A fresh function per registration, so registering the same callback twice counts twice
    // and each unregister removes its own.
    const entry = (): number => count();
    this.m.sources.hibernating.add(entry);
    return () => {
      this.m.sources.hibernating.delete(entry);
    };
  }

  stateRestored(): void {
    this.m.stateRestores.inc();
  }

  sessionReasserted(outcome: ReassertOutcome): void {
    this.m.sessionsReasserted.inc({ outcome });
  }

  pendingEnvelopes(count: () => number): () => void {
    const entry = (): number => count();
    this.m.sources.pendingEnvelopes.add(entry);
    return () => {
      this.m.sources.pendingEnvelopes.delete(entry);
    };
  }

  pendingEnvelope(outcome: PendingOutcome): void {
    this.m.pendingEnvelopeOutcomes.inc({ outcome });
  }

  /** The node's connections, read at each scrape (the composition root passes the server's). */
  observeNode(snapshot: () => NodeSnapshot): void {
    this.m.sources.connections = () => snapshot().connections;
  }

  /**
   * Cluster-wide figures are exported once per cluster, not summed over nodes: only the node
   * first in the sorted list of live nodes exports them; the others export no sample. A read
   * that fails or takes longer than a second exports nothing rather than failing the scrape.
   */
  observeCluster(source: ClusterSource): void {
    this.m.sources.cluster = () =>
      withTimeout(
        (async (): Promise<ClusterFigures | undefined> => {
          const live = await source.liveNodes();
          if ([...live].sort()[0] !== source.nodeId) return undefined;
          const [sessions, accounts] = await Promise.all([source.sessions(), source.accounts()]);
          return { nodes: live.length, sessions, accounts };
        })(),
        CLUSTER_READ_TIMEOUT_MS,
      );
  }

  /** The Prometheus text exposition of every metric. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Free-form label values are kept to a bounded, safe set (never a JID). */
  private bounded(label: string, value: string): string {
    if (!LABEL_SHAPE.test(value)) return 'other';
    let values = this.seen.get(label);
    if (!values) {
      values = new Set();
      this.seen.set(label, values);
    }
    if (values.has(value)) return value;
    if (values.size >= MAX_VALUES_PER_LABEL) return 'other';
    values.add(value);
    return value;
  }
}
