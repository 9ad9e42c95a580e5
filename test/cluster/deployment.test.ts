// The deployment record on a real Redis: written by the first user that names a domain, checked
// by everyone after, so a CLI or node cannot invent a domain or read a mistyped prefix as empty.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { DATA_FORMAT, openDeployment, type RedisStateError } from '../../cluster/redis/index.js';

const url = inject('redisUrl');
const redis = new Redis(url);
afterAll(() => redis.quit());

function freshPrefix(): string {
  return `dep${randomBytes(4).toString('hex')}`;
}

async function failure(promise: Promise<unknown>): Promise<RedisStateError> {
  const error = await promise.then(() => undefined, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(Error);
  return error as RedisStateError;
}

describe('the deployment record of a Redis key prefix', () => {
  it('is written by the first node and names the domain and the data format', async () => {
    const prefix = freshPrefix();
    const { state, deployment } = await openDeployment({ url, prefix, deployment: { domain: 'example.com', record: true } });
    await state.close();
    expect(deployment).toEqual({ format: DATA_FORMAT, domains: ['example.com'] });
    expect(JSON.parse((await redis.get(`${prefix}:v1:deployment`)) ?? 'null')).toEqual({ format: DATA_FORMAT, domains: ['example.com'] });
  });

  it('is adopted by a caller that gave no domain', async () => {
    const prefix = freshPrefix();
    await (await openDeployment({ url, prefix, deployment: { domain: 'example.com', record: true } })).state.close();
    const { state, deployment } = await openDeployment({ url, prefix, deployment: { domain: undefined, record: false } });
    await state.close();
    expect(deployment?.domains).toEqual(['example.com']);
  });

  it('refuses another domain, naming the one served', async () => {
    const prefix = freshPrefix();
    await (await openDeployment({ url, prefix, deployment: { domain: 'example.com', record: true } })).state.close();
    const error = await failure(openDeployment({ url, prefix, deployment: { domain: 'localhost', record: true } }));
    expect(error.code).toBe('ROOKERY_REDIS_DEPLOYMENT_MISMATCH');
    expect(error.message).toContain('ROOKERY_DOMAIN=example.com');
  });

  it('refuses a prefix without a record when no domain was given, naming ROOKERY_REDIS_PREFIX', async () => {
    const prefix = freshPrefix();
    const error = await failure(openDeployment({ url, prefix, deployment: { domain: undefined, record: false } }));
    expect(error.code).toBe('ROOKERY_REDIS_NO_DEPLOYMENT');
    expect(error.message).toContain('ROOKERY_REDIS_PREFIX');
    expect(await redis.exists(`${prefix}:v1:deployment`)).toBe(0);
  });

  it('refuses data written in a newer format', async () => {
    const prefix = freshPrefix();
    await redis.set(`${prefix}:v1:deployment`, JSON.stringify({ format: DATA_FORMAT + 1, domains: ['localhost'] }));
    const error = await failure(openDeployment({ url, prefix, deployment: { domain: 'localhost', record: true } }));
    expect(error.code).toBe('ROOKERY_REDIS_DEPLOYMENT_MISMATCH');
    expect(error.message).toContain('newer Rookery');
  });

  it('refuses a record it cannot read', async () => {
    const prefix = freshPrefix();
    await redis.set(`${prefix}:v1:deployment`, 'not json');
    const error = await failure(openDeployment({ url, prefix, deployment: { domain: 'localhost', record: true } }));
    expect(error.code).toBe('ROOKERY_REDIS_CORRUPT');
  });

  it('keeps one record when two nodes start at once with different domains', async () => {
    const prefix = freshPrefix();
    const results = await Promise.allSettled([
      openDeployment({ url, prefix, deployment: { domain: 'a.example', record: true } }),
      openDeployment({ url, prefix, deployment: { domain: 'b.example', record: true } }),
    ]);
    const opened = results.filter((result) => result.status === 'fulfilled');
    expect(opened).toHaveLength(1);
    for (const result of opened) await result.value.state.close();
  });
});
