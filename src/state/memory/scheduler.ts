// In-process JobScheduler: timers (the embedded deployment has one node, which outlives its jobs
// or takes them along).
import type { JobHandler, JobName, JobPayloads, JobScheduler } from '../scheduler.js';

export class MemoryJobScheduler implements JobScheduler {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly handlers = new Map<JobName, JobHandler<JobName>>();

  constructor(private readonly onError: (error: unknown) => void = () => {}) {}

  async schedule<N extends JobName>(id: string, name: N, payload: JobPayloads[N], delayMs: number): Promise<void> {
    await this.cancel(id);
    const timer = setTimeout(() => {
      this.timers.delete(id);
      const handler = this.handlers.get(name);
      if (handler) void handler(payload).catch(this.onError);
    }, delayMs);
    timer.unref();
    this.timers.set(id, timer);
  }

  async cancel(id: string): Promise<void> {
    clearTimeout(this.timers.get(id));
    this.timers.delete(id);
  }

  handle<N extends JobName>(name: N, handler: JobHandler<N>): void {
    this.handlers.set(name, handler as unknown as JobHandler<JobName>);
  }

  async close(): Promise<void> {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}
