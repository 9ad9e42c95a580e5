// What a workload needs from a server under test, whichever it is.
import type { Target } from '../lib/client.js';

export type ServerKind = 'rookery' | 'prosody' | 'ejabberd';

export interface RunningServer {
  kind: ServerKind;
  /** e.g. "Rookery, single node, embedded store". */
  label: string;
  /** Short configuration tag used in tables: "embedded", "redis", "2 nodes + redis", "default". */
  config: string;
  version: string;
  /** One target per node; direct-TLS ports are not used (STARTTLS only). */
  targets: Target[];
  /** The server's own processes (CPU and RSS are summed over them). */
  pids(): number[];
  /** Helper processes that are not the XMPP server itself (Redis), reported separately. */
  helperPids(): Array<{ name: string; pid: number }>;
  /** Redis port, for INFO commandstats. */
  redisPort?: number;
  createAccounts(users: string[], password: string): Promise<void>;
  /**
   * Writes mutual (both) subscriptions between hub and every contact straight into the server's
   * store. Without it, the presence workload establishes them over XMPP.
   */
  createRosters?(hub: string, contacts: string[]): Promise<void>;
  /** Date.now() when the (first) server process was spawned: CPU profiles start then. */
  startedAt: number;
  /** Settings that matter for the comparison, for RESULTS.md. */
  notes: string[];
  stop(): Promise<void>;
}

export interface LaunchContext {
  /** A scratch directory for this run (certificates, configs, data). */
  dir: string;
  /** One RSA-2048 certificate and key for every server. */
  certFile: string;
  keyFile: string;
  domain: string;
  log: (line: string) => void;
  /** Extra node arguments for Rookery nodes (e.g. --cpu-prof, which NODE_OPTIONS does not allow). */
  nodeArgs?: string[];
  /** Server-to-server on (bench/s2s.ts); unset: no federation. */
  federation?: Federation;
}

/**
 * Federation between the servers under test: each serves an IP-literal domain (`domain` is that
 * address) and listens for s2s on port 5269 of it, where the others reach an IP-literal domain
 * without DNS or routes (RFC 6120 §3.2.2). STARTTLS with the run's certificate, then dialback.
 */
export interface Federation {
  /** A loopback address of this server's own (127.x.y.z), its domain too. */
  address: string;
}
