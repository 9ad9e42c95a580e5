// Per-session read limits (as Prosody's mod_limits): a client over its byte or stanza rate is
// slowed down by no longer reading from it, and everything it sent is still handled, in order.
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, type Limits } from '../../src/config.js';
import type { RawClient } from '../support/client.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { recordLimits } from './support.js';

const UNLIMITED_READS: Partial<Limits> = { c2sBytesPerSecond: 0, c2sUnauthedBytesPerSecond: 0, c2sStanzasPerSecond: 0 };

let server: TestServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

async function start(limits: Partial<Limits>): Promise<{ server: TestServer; enforced: Map<string, number> }> {
  server = await startTestServer({ config: { limits: { ...DEFAULT_LIMITS, ...UNLIMITED_READS, ...limits } } });
  const enforced = recordLimits(server.server.host);
  await server.createUser('alice');
  await server.createUser('bob');
  return { server, enforced };
}

/** Bob, available, receiving; Alice, bound, sending. */
async function pair(s: TestServer): Promise<{ alice: RawClient; bob: RawClient }> {
  const bob = await s.login('bob', 'desk');
  bob.send('<presence/>');
  await bob.expect('presence');
  const alice = await s.login('alice', 'desk');
  return { alice, bob };
}

function messages(to: string, count: number, bodyBytes: number): { xml: string; bytes: number; ids: string[] } {
  const ids = Array.from({ length: count }, (_, i) => `m${i}`);
  const xml = ids.map((id) => `<message to='${to}' type='chat' id='${id}'><body>${'x'.repeat(bodyBytes)}</body></message>`).join('');
  return { xml, bytes: Buffer.byteLength(xml), ids };
}

async function receiveAll(bob: RawClient, ids: string[]): Promise<string[]> {
  const received: string[] = [];
  for (const id of ids) received.push((await bob.expect((e) => e.name === 'message' && e.attrs.id === id, 15_000)).attrs.id as string);
  return received;
}

describe('per-session read limits', () => {
  it('slows a client flooding bytes down to its byte rate, and delivers every stanza in order', async () => {
    const rate = 10_000;
    const burst = 2_000;
    const { server: s, enforced } = await start({ c2sBytesPerSecond: rate, c2sBurstBytes: burst });
    const { alice, bob } = await pair(s);
    const flood = messages(bob.bare, 100, 180);
    expect(flood.bytes).toBeGreaterThan(20_000);

    const started = performance.now();
    alice.send(flood.xml);
    const received = await receiveAll(bob, flood.ids);
    const elapsedMs = performance.now() - started;

    expect(received).toEqual(flood.ids);
    // At most `burst` bytes could go through at once, the rest at `rate`; loose, to allow for timers.
    expect(elapsedMs).toBeGreaterThan(0.8 * ((flood.bytes - burst) / rate) * 1000);
    expect(enforced.get('c2s_bytes_rate')).toBeGreaterThan(0);
    await alice.barrier();
  });

  it('slows a client flooding stanzas down to its stanza rate, and delivers every stanza in order', async () => {
    const rate = 20;
    const burst = 5;
    const { server: s, enforced } = await start({ c2sStanzasPerSecond: rate, c2sStanzaBurst: burst });
    const { alice, bob } = await pair(s);
    const flood = messages(bob.bare, 40, 10);

    const started = performance.now();
    alice.send(flood.xml);
    const received = await receiveAll(bob, flood.ids);
    const elapsedMs = performance.now() - started;

    expect(received).toEqual(flood.ids);
    expect(elapsedMs).toBeGreaterThan(0.8 * ((flood.ids.length - burst) / rate) * 1000);
    expect(enforced.get('c2s_stanza_rate')).toBeGreaterThan(0);
  });

  it('slows a client down before authentication, through STARTTLS, and still lets it log in', async () => {
    // The stream header and <starttls/> together are ~180 bytes: reading pauses in the middle of <starttls/>.
    const { server: s, enforced } = await start({ c2sUnauthedBytesPerSecond: 1_000, c2sUnauthedBurstBytes: 150 });
    const started = performance.now();
    const client = await s.login('alice', 'slow');
    expect(client.encrypted).toBe(true);
    expect(performance.now() - started).toBeGreaterThan(200);
    expect(enforced.get('c2s_unauthed_bytes_rate')).toBeGreaterThan(0);
    await client.barrier();
  });

  it('leaves a client within its rates alone', async () => {
    const { server: s, enforced } = await start({ c2sBytesPerSecond: 10_000, c2sBurstBytes: 50_000, c2sStanzasPerSecond: 50, c2sStanzaBurst: 200 });
    const { alice, bob } = await pair(s);
    const burst = messages(bob.bare, 50, 100);
    alice.send(burst.xml);
    expect(await receiveAll(bob, burst.ids)).toEqual(burst.ids);
    expect(enforced.size).toBe(0);
  });
});
