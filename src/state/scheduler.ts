// Delayed jobs that must outlive the node that scheduled them (stream management hibernation
// expiry). Names and payloads are declared here once.

export interface JobPayloads {
  /** A hibernating XEP-0198 stream's time is up. */
  'sm-expire': { user: string; token: string };
  /** A resource that lost its node to a drain did not come back: its contacts now see it go. */
  'presence-grace': { full_jid: string; presence: string };
  /** A message archive's oldest entries may be past limits.archiveDays (XEP-0313 retention). */
  'archive-trim': { owner: string };
  /**
   * One try of a push notification (XEP-0357) to one registration: `attempt` counts from 1;
   * `body` only when the registration asked for it.
   */
  'push-send': { user: string; jid: string; node: string; event: string; sender?: string; body?: string; attempt: number };
}

export type JobName = keyof JobPayloads;
export type JobHandler<N extends JobName> = (payload: JobPayloads[N]) => Promise<void>;

/**
 * Guarantees: a scheduled job runs once, after its delay, on one node (any node, so it runs
 * even if the scheduling node is gone), unless cancelled first. Scheduling an id again
 * replaces the pending job. A job whose handler throws is retried a few times.
 */
export interface JobScheduler {
  schedule<N extends JobName>(id: string, name: N, payload: JobPayloads[N], delayMs: number): Promise<void>;
  cancel(id: string): Promise<void>;
  /** Registers the handler this node runs for `name`. */
  handle<N extends JobName>(name: N, handler: JobHandler<N>): void;
  close(): Promise<void>;
}
