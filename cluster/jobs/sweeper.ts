// The dead-node sweep as a BullMQ job scheduler: it fires every `everyMs` on whichever node's
// worker takes it, so clean-up happens even when the node that scheduled it is gone.
import { Queue, Worker } from 'bullmq';
import type { ConnectionOptions } from 'bullmq';
import type { Telemetry } from '../../src/telemetry.js';
import type { NodeLiveness } from '../redis/liveness.js';

export const MAINTENANCE_QUEUE = 'maintenance';
const SWEEP = 'sweep-dead-nodes';
/** How long after an eviction its inbox is taken again on every sweep. */
const REDRAIN_WINDOW_MS = 5 * 60_000;

export interface SweeperOptions {
  connection: ConnectionOptions;
  /** BullMQ key prefix; on Redis Cluster it must be a hash tag. */
  prefix: string;
  everyMs: number;
  onError?(error: unknown): void;
  /** Counts each job this node's worker completed or failed. */
  telemetry?: Telemetry;
}

export class DeadNodeSweeper {
  private queue: Queue | undefined;
  private worker: Worker | undefined;

  constructor(
    private readonly liveness: NodeLiveness,
    private readonly cleanUp: (node: string) => Promise<unknown>,
    private readonly options: SweeperOptions,
  ) {}

  async start(): Promise<void> {
    const { connection, prefix } = this.options;
    this.queue = new Queue(MAINTENANCE_QUEUE, { connection, prefix });
    this.queue.on('error', (error) => this.options.onError?.(error));
    await this.schedule();
    this.worker = new Worker(MAINTENANCE_QUEUE, async (job) => (job.name === SWEEP ? this.sweep() : undefined), {
      connection,
      prefix,
      concurrency: 1,
    });
    this.worker.on('error', (error) => this.options.onError?.(error));
    this.worker.on('completed', (job) => this.options.telemetry?.job(job.name, 'completed'));
    this.worker.on('failed', (job) => this.options.telemetry?.job(job?.name ?? 'unknown', 'failed'));
  }

  /** Every node upserts the same scheduler id: there is one schedule however many nodes run. */
  async schedule(): Promise<void> {
    await this.queue?.upsertJobScheduler(SWEEP, { every: this.options.everyMs }, {
      name: SWEEP,
      opts: { removeOnComplete: true, removeOnFail: 100 },
    });
  }

  /** Claims and cleans up every node whose heartbeat stopped; returns the nodes cleaned. */
  async sweep(): Promise<string[]> {
    const cleaned: string[] = [];
    for (const node of await this.liveness.deadNodes()) {
      if (!(await this.liveness.claimDead(node))) continue;
      await this.cleanUp(node);
      cleaned.push(node);
    }
    // Late arrivals in an evicted node's inbox: cleaning up again is idempotent and cheap.
    for (const node of await this.liveness.recentlyEvicted(REDRAIN_WINDOW_MS)) {
      if (!cleaned.includes(node)) await this.cleanUp(node);
    }
    return cleaned;
  }

  async close(): Promise<void> {
    await this.worker?.close();
    await this.queue?.close();
  }
}
