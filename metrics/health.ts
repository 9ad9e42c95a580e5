// The probes. /healthz is liveness: answering at all proves the event loop runs. /readyz is
// readiness: every check passes within its time bound, or the node answers 503 naming the
// checks that did not, and the load balancer sends it no new clients.
import type { HttpHandler, HttpReply } from '../src/http.js';
import { withTimeout } from './timeout.js';

export interface ReadinessCheck {
  /** Stable and short (it is shown in the 503 body): "redis", "registered", "draining". */
  name: string;
  /** true when ready; a rejection, false, or no answer within the bound means not ready. */
  check(): boolean | Promise<boolean>;
}

export const READINESS_TIMEOUT_MS = 1_000;

export function livenessHandler(): HttpHandler {
  return () => ({ status: 200, text: 'ok\n' });
}

/** Runs the checks in parallel, each bounded by `timeoutMs`. */
export function readinessHandler(checks: readonly ReadinessCheck[], timeoutMs = READINESS_TIMEOUT_MS): HttpHandler {
  return async (): Promise<HttpReply> => {
    const results = await Promise.all(
      checks.map(async ({ name, check }) => {
        const ok = await withTimeout(Promise.resolve().then(check), timeoutMs);
        return { name, ok: ok === true };
      }),
    );
    const failing = results.filter((result) => !result.ok).map((result) => result.name);
    if (failing.length === 0) return { status: 200, text: 'ready\n' };
    return { status: 503, text: `not ready: ${failing.join(', ')}\n` };
  };
}

/** GET /metrics: the Prometheus text format; no authentication (it holds no JID, no secret). */
export function metricsHandler(source: { metrics(): Promise<string>; contentType: string }): HttpHandler {
  return async () => ({ status: 200, text: await source.metrics(), contentType: source.contentType });
}
