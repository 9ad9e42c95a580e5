// The HTTP upload workload (XEP-0363), orchestrator side: Rookery's disk store on one node, files
// of several sizes PUT through the node and fetched back (bench/upload.ts runs it in a generator).
// Figures per size and direction: MB/s (10^6 bytes) over the phase, per-file latency (a PUT
// includes its slot request), server CPU.
import { Histogram, summarize } from './lib/hist.js';
import type { GeneratorPool } from './lib/pool.js';
import { sleep } from './lib/proc.js';
import type { UploadPhase, UploadResult } from './lib/protocol.js';
import type { RunningServer } from './servers/types.js';
import type { Figure, Params } from './workloads.js';

const percentOfCore = (cpuSeconds: number, wallMs: number): number => (wallMs > 0 ? (cpuSeconds * 1000 * 100) / wallMs : 0);

/** The accounts the upload lanes log in with (created with the others). */
export function uploadAccounts(params: Params): string[] {
  return Array.from({ length: params.uploadConcurrency }, (_, i) => `up${i + 1}`);
}

/** One figure per size and direction: workload `upload`, values.size and values.put (1) or get (0). */
export async function upload(server: RunningServer, pool: GeneratorPool, params: Params): Promise<Figure[]> {
  const target = server.targets[0]!;
  const result = await pool.generators[0]!.call<UploadResult>({
    op: 'upload',
    job: { target, users: uploadAccounts(params), password: params.password, sizes: params.uploadSizes, files: params.uploadFiles, concurrency: params.uploadConcurrency, serverPids: server.pids() },
  });
  await sleep(1000);
  const figure = (size: number, direction: 'put' | 'get', phase: UploadPhase, mismatched: number): Figure => ({
    workload: 'upload',
    server: server.label,
    kind: server.kind,
    config: server.config,
    ok: mismatched === 0,
    ...(mismatched > 0 ? { error: `${mismatched} files of ${size} bytes came back wrong` } : {}),
    values: { size, put: direction === 'put' ? 1 : 0, files: phase.files, concurrency: params.uploadConcurrency, megabytesPerSecond: phase.bytes / 1e6 / (phase.wallMs / 1000), filesPerSecond: (phase.files * 1000) / phase.wallMs },
    latency: summarize(Histogram.from(phase.hist)),
    serverCpu: percentOfCore(phase.serverCpuSeconds, phase.wallMs),
    generatorCpu: percentOfCore(phase.cpuMs / 1000, phase.wallMs),
    wallMs: phase.wallMs,
    notes: [],
  });
  return result.sizes.flatMap((entry) => [figure(entry.size, 'put', entry.put, entry.mismatched), figure(entry.size, 'get', entry.get, entry.mismatched)]);
}
