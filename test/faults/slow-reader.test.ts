// A client that stops reading: the server holds at most limits.maxOutboundBytes for it, then cuts
// it off with <policy-violation/>; the messages it never took go to offline storage, so every
// message is either read by the client before the cut or waiting for its next login (what sits in
// the kernel's socket buffers reaches a client that reads again before the close timeout; one that
// never does loses that part with its TCP connection, as only XEP-0198 acknowledgements can tell).
import type { Element } from 'ltx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../src/config.js';
import { xml } from '../support/client.js';
import { eventually } from '../support/cluster.js';
import { BACKENDS, startTestServer, type TestServer } from '../support/server.js';

const MESSAGES = 600;
const BODY = 'x'.repeat(40_000);

const idsOf = (elements: Element[]): string[] => elements.filter((element) => element.name === 'message' && element.attrs.type !== 'error').map((element) => String(element.attrs.id));

describe.each(BACKENDS.filter((backend) => backend !== 'cluster'))('a client that stops reading (%s backend)', (backend) => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({
      backend,
      config: { limits: { ...DEFAULT_LIMITS, maxOutboundBytes: 512 * 1024, offlineMessages: MESSAGES, c2sBytesPerSecond: 0, c2sStanzasPerSecond: 0 } },
    });
    await server.createUser('alice');
    await server.createUser('bob');
  });
  afterAll(() => server.stop());

  it('is cut off with policy-violation, and what it never read waits offline: nothing lost, nothing twice', async () => {
    const alice = await server.login('alice', 'desk');
    const bob = await server.login('bob', 'phone');
    bob.pauseReading();
    for (let i = 0; i < MESSAGES; i++) alice.send(`<message to='${bob.jid}' type='chat' id='m${i}'><body>${BODY}</body></message>`);
    await eventually('the server cut bob off', () => server.server.host.local.get(bob.jid as string) === undefined, 60_000);
    // What reached bob's socket before the cut is still his to read (within the close timeout).
    bob.resumeReading();
    await bob.closed(20_000);
    expect(bob.streamError()).toBe('policy-violation');
    // All of alice's messages handled (a ping answered after them), however long 24 MB takes here.
    alice.send(`<iq type='get' id='done' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`);
    await alice.expect(xml`<iq type='result' id='done'/>`, 60_000);
    const read = idsOf(bob.inbox);
    expect(read.length).toBeLessThan(MESSAGES);

    const again = await server.login('bob', 'laptop');
    again.send('<presence/>');
    await eventually('the offline messages arrived', () => read.length + idsOf(again.inbox).length >= MESSAGES, 20_000).catch((error: unknown) => {
      const offline = new Set(idsOf(again.inbox));
      const missing = Array.from({ length: MESSAGES }, (_, i) => `m${i}`).filter((id) => !offline.has(id) && !read.includes(id));
      console.log({ read: read.length, offline: offline.size, missing: missing.slice(0, 20), missingCount: missing.length, aliceErrors: alice.inbox.filter((e) => e.attrs.type === 'error').length });
      throw error;
    });
    await again.barrier();
    const offline = idsOf(again.inbox);
    expect(offline.length).toBeGreaterThan(0);
    const all = [...read, ...offline];
    expect(new Set(all).size).toBe(all.length);
    expect(new Set(all)).toEqual(new Set(Array.from({ length: MESSAGES }, (_, i) => `m${i}`)));
    // Nothing bounced back to alice, and the node holds nothing more for bob.
    expect(alice.inbox.filter((element) => element.attrs.type === 'error')).toEqual([]);
    expect(server.server.connections.size).toBe(2);
  }, 90_000);
});
