// The JobScheduler contract (src/state/scheduler.ts): a scheduled job runs once, after its delay,
// unless cancelled; scheduling an id again replaces the pending job.
import { describe, expect, it } from 'vitest';
import type { JobPayloads, JobScheduler } from '../../src/state/scheduler.js';

type Expiry = JobPayloads['sm-expire'];

/** A scheduler with its handlers registered, and what they ran, in order. */
export interface SchedulerUnderTest {
  scheduler: JobScheduler;
  ran: Expiry[];
  /** Resolves when a job with this token has run (rejects after `timeoutMs`). */
  ranToken(token: string, timeoutMs?: number): Promise<void>;
}

/** Registers a recording handler for 'sm-expire', then lets `start` run (BullMQ starts its worker after handlers are set). */
export function recording(scheduler: JobScheduler, start: () => void = () => {}): SchedulerUnderTest {
  const ran: Expiry[] = [];
  const waiters = new Map<string, () => void>();
  scheduler.handle('sm-expire', async (payload) => {
    ran.push(payload);
    waiters.get(payload.token)?.();
  });
  start();
  return {
    scheduler,
    ran,
    ranToken(token, timeoutMs = 10_000) {
      if (ran.some((payload) => payload.token === token)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`job ${token} did not run within ${timeoutMs} ms`)), timeoutMs);
        waiters.set(token, () => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}

let counter = 0;
const fresh = (label: string): string => `${label}-${process.pid}-${++counter}`;

export function schedulerContract(under: () => SchedulerUnderTest): void {
  describe('JobScheduler contract', () => {
    it('runs a scheduled job once, after its delay, with its payload', async () => {
      const { scheduler, ran, ranToken } = under();
      const token = fresh('once');
      const scheduledAt = Date.now();
      await scheduler.schedule(fresh('id'), 'sm-expire', { user: 'alice@localhost', token }, 200);
      await ranToken(token);
      expect(Date.now() - scheduledAt).toBeGreaterThanOrEqual(150);
      expect(ran.filter((payload) => payload.token === token)).toStrictEqual([{ user: 'alice@localhost', token }]);
    });

    it('does not run a job cancelled before its delay (a later job proves the time has passed)', async () => {
      const { scheduler, ran, ranToken } = under();
      const cancelled = fresh('cancelled');
      const marker = fresh('marker');
      const id = fresh('id');
      await scheduler.schedule(id, 'sm-expire', { user: 'alice@localhost', token: cancelled }, 200);
      await scheduler.schedule(fresh('id'), 'sm-expire', { user: 'alice@localhost', token: marker }, 600);
      await scheduler.cancel(id);
      await ranToken(marker);
      expect(ran.map((payload) => payload.token)).not.toContain(cancelled);
    });

    it('replaces a pending job when the same id is scheduled again', async () => {
      const { scheduler, ran, ranToken } = under();
      const first = fresh('first');
      const second = fresh('second');
      const marker = fresh('marker');
      const id = fresh('id');
      await scheduler.schedule(id, 'sm-expire', { user: 'alice@localhost', token: first }, 200);
      await scheduler.schedule(id, 'sm-expire', { user: 'alice@localhost', token: second }, 300);
      await scheduler.schedule(fresh('id'), 'sm-expire', { user: 'alice@localhost', token: marker }, 700);
      await ranToken(marker);
      const tokens = ran.map((payload) => payload.token);
      expect(tokens).not.toContain(first);
      expect(tokens.filter((token) => token === second)).toHaveLength(1);
    });

    it('accepts a cancel of an id that was never scheduled', async () => {
      const { scheduler } = under();
      await expect(scheduler.cancel(fresh('never'))).resolves.toBeUndefined();
    });
  });
}
