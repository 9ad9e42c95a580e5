// JobScheduler on BullMQ delayed jobs: the job lives in Redis, so it fires on whichever node's
// worker is free even when the node that scheduled it is gone.
import { Queue, Worker } from 'bullmq';
import type { ConnectionOptions } from 'bullmq';
import type { JobHandler, JobName, JobPayloads, JobScheduler } from '../../src/state/scheduler.js';

export const JOBS_QUEUE = 'jobs';

export interface BullJobSchedulerOptions {
  connection: ConnectionOptions;
  /** BullMQ key prefix; on Redis Cluster it must be a hash tag. */
  prefix: string;
  onError?(error: unknown): void;
  /** Told how each job ended (metrics). */
  onOutcome?(name: string, outcome: 'completed' | 'failed'): void;
}

export class BullJobScheduler implements JobScheduler {
  private readonly queue: Queue;
  private worker: Worker | undefined;
  private readonly handlers = new Map<string, JobHandler<JobName>>();

  constructor(private readonly options: BullJobSchedulerOptions) {
    this.queue = new Queue(JOBS_QUEUE, { connection: options.connection, prefix: options.prefix });
    this.queue.on('error', (error) => options.onError?.(error));
  }

  /** Starts this node's worker; call after registering handlers. */
  start(): void {
    this.worker = new Worker(
      JOBS_QUEUE,
      async (job) => {
        const handler = this.handlers.get(job.name);
        if (!handler) throw new Error(`no handler for job ${job.name}`);
        await handler(job.data as JobPayloads[JobName]);
      },
      { connection: this.options.connection, prefix: this.options.prefix, concurrency: 4 },
    );
    this.worker.on('error', (error) => this.options.onError?.(error));
    this.worker.on('completed', (job) => this.options.onOutcome?.(job.name, 'completed'));
    this.worker.on('failed', (job) => this.options.onOutcome?.(job?.name ?? 'unknown', 'failed'));
  }

  async schedule<N extends JobName>(id: string, name: N, payload: JobPayloads[N], delayMs: number): Promise<void> {
    await this.cancel(id);
    await this.queue.add(name, payload, {
      jobId: jobIdOf(id),
      delay: delayMs,
      attempts: 3,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: true,
      removeOnFail: 1000,
    });
  }

  async cancel(id: string): Promise<void> {
    // A job that is running cannot be removed; its handler checks the state it acts on anyway.
    await this.queue.remove(jobIdOf(id)).catch(() => 0);
  }

  handle<N extends JobName>(name: N, handler: JobHandler<N>): void {
    this.handlers.set(name, handler as unknown as JobHandler<JobName>);
  }

  async close(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
  }
}

/** BullMQ job ids may not contain ':' and must not look like integers. */
function jobIdOf(id: string): string {
  return `j-${Buffer.from(id).toString('base64url')}`;
}
