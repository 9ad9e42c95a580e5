// A Telemetry that records which limits were enforced, how often; the rest is discarded.
import type { Host } from '../../src/core/host.js';
import { noTelemetry } from '../../src/telemetry.js';

/** Replaces the host's telemetry; the returned map fills in as limits are enforced. */
export function recordLimits(host: Host): Map<string, number> {
  const enforced = new Map<string, number>();
  host.telemetry = {
    ...noTelemetry,
    limitEnforced(limit: string) {
      enforced.set(limit, (enforced.get(limit) ?? 0) + 1);
    },
  };
  return enforced;
}
