// The messages between the orchestrator (run.ts) and the load-generator processes (worker.ts).
import type { Target } from './client.js';
import type { HistogramData } from './hist.js';
import type { Mechanism } from './sasl.js';

export interface LoginJob {
  /** Client i connects to targets[i % targets.length] (several nodes of one server: spread over them). */
  targets: Target[];
  users: string[];
  password: string;
  mechanism: Mechanism;
  starttls: boolean;
  resource: string;
  /** Logins in flight at once (closed loop). */
  concurrency: number;
  /** Sessions are kept under this name until a `close` job. */
  group: string;
  timeoutMs: number;
  /** No new login is started after this many ms (0: no limit); the figures cover what was done. */
  maxMs: number;
  /** STARTTLS resuming the account's previous TLS session (ticket), as a reconnecting client does. */
  resumeTls?: boolean;
  /** Over XMPP-over-WebSocket (RFC 7395) at each target's webSocketUrl instead of TCP. */
  webSocket?: boolean;
}

export interface LoginResult {
  ok: number;
  failed: number;
  errors: string[];
  hist: HistogramData;
  elapsedMs: number;
  /** Generator CPU (user + system) spent during the job, ms. */
  cpuMs: number;
  /** PBKDF2 runs of the SCRAM client during the job (cache misses). */
  derivations: number;
  /** TLS handshakes during the job, and how many of them resumed a session. */
  tlsHandshakes: number;
  tlsResumed: number;
}

export interface MessagesJob {
  /**
   * Pair i: side A connects to targetsA[i % targetsA.length], side B to targetsB[i % …]. The same
   * list for both keeps each pair on one node (spread over the nodes); [node 1] and [node 2] split
   * every pair over two nodes.
   */
  targetsA: Target[];
  targetsB: Target[];
  pairs: Array<[string, string]>;
  password: string;
  mechanism: Mechanism;
  starttls: boolean;
  /** Messages in flight per direction of each pair. */
  window: number;
  bodyBytes: number;
  concurrency: number;
  timeoutMs: number;
  /** Every client over XMPP-over-WebSocket (RFC 7395) instead of TCP. */
  webSocket?: boolean;
}

export interface MessagesResult {
  /** Messages received inside the measuring window. */
  delivered: number;
  windowMs: number;
  hist: HistogramData;
  sent: number;
  received: number;
  /** Sent but never received after the drain. */
  lost: number;
  outOfOrder: number;
  errors: number;
  cpuMs: number;
  drainMs: number;
}

export interface PresenceJob {
  targets: Target[];
  hub: string;
  contacts: string[];
  password: string;
  mechanism: Mechanism;
  starttls: boolean;
  rounds: number;
  concurrency: number;
  timeoutMs: number;
  /** Establish the subscriptions over XMPP (false: they are in the server's store already). */
  subscribe: boolean;
  /** The server's processes, whose CPU time the generator samples around the broadcasts. */
  serverPids: number[];
}

export interface PresenceResult {
  contacts: number;
  rounds: number;
  setupMs: number;
  /** Per round: time until the last contact had the broadcast. */
  complete: HistogramData;
  /** Every single delivery. */
  deliveries: HistogramData;
  missing: number;
  cpuMs: number;
  /** Duration of the broadcasts (the interval cpuMs covers). */
  measureMs: number;
  /** Server CPU seconds over the broadcasts. */
  serverCpuSeconds: number;
}

/** XEP-0363: for each size, `files` slots requested, PUT and then fetched back (GET), `concurrency` in flight. */
export interface UploadJob {
  target: Target;
  /** One account per lane, so that no account's daily quota is the limit. */
  users: string[];
  password: string;
  sizes: number[];
  files: number[];
  concurrency: number;
  serverPids: number[];
}

export interface UploadPhase {
  bytes: number;
  files: number;
  wallMs: number;
  /** Per request: slot request + PUT, or GET. */
  hist: HistogramData;
  serverCpuSeconds: number;
  cpuMs: number;
}

export interface UploadResult {
  sizes: Array<{ size: number; put: UploadPhase; get: UploadPhase; mismatched: number }>;
}

export type Request =
  | { op: 'login'; job: LoginJob }
  | { op: 'close'; group: string }
  | { op: 'messages-setup'; job: MessagesJob }
  | { op: 'messages-start' }
  | { op: 'messages-mark' }
  | { op: 'messages-stop'; drainMs: number }
  | { op: 'messages-close' }
  | { op: 'presence'; job: PresenceJob }
  /** PEP fan-out: the same job shape; clients spread over the targets, rounds are publishes. */
  | { op: 'pep'; job: PresenceJob }
  | { op: 'upload'; job: UploadJob }
  | { op: 'exit' };

export interface RequestEnvelope {
  id: number;
  request: Request;
}

export interface ResponseEnvelope {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}
