// The JobScheduler contract on the in-process scheduler and on BullMQ over a real redis-server.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe } from 'vitest';
import { BullJobScheduler } from '../../cluster/jobs/scheduler.js';
import { MemoryJobScheduler } from '../../src/state/memory/scheduler.js';
import { redisServerAvailable, startRedisServer, type RedisServerHandle } from '../support/redis-server.js';
import { recording, schedulerContract, type SchedulerUnderTest } from './scheduler.contract.js';

describe('memory job scheduler', () => {
  let under: SchedulerUnderTest | undefined;
  beforeAll(() => {
    under = recording(new MemoryJobScheduler());
  });
  afterAll(() => under?.scheduler.close());
  schedulerContract(() => {
    if (!under) throw new Error('the scheduler is made in beforeAll');
    return under;
  });
});

describe.skipIf(!redisServerAvailable())('BullMQ job scheduler', () => {
  let server: RedisServerHandle | undefined;
  let connection: Redis | undefined;
  let under: SchedulerUnderTest | undefined;
  beforeAll(async () => {
    server = await startRedisServer();
    // BullMQ blocks on its connection, so it needs this setting (as cluster/node.ts gives it).
    connection = new Redis(server.url, { maxRetriesPerRequest: null });
    const scheduler = new BullJobScheduler({ connection, prefix: `{sched-${randomBytes(4).toString('hex')}}` });
    under = recording(scheduler, () => scheduler.start());
  });
  afterAll(async () => {
    await under?.scheduler.close();
    connection?.disconnect();
    await server?.stop();
  });
  schedulerContract(() => {
    if (!under) throw new Error('the scheduler is made in beforeAll');
    return under;
  });
});
