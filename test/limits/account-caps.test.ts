// Per-account caps: roster items (RFC 6121 §2.5.3), blocked JIDs (XEP-0191) and resources
// (RFC 6120 §7.6.2.1), each refused with the error its specification names.
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, type Limits } from '../../src/config.js';
import { BACKENDS, startTestServer, type TestServer } from '../support/server.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

async function start(backend: (typeof BACKENDS)[number], limits: Partial<Limits>): Promise<TestServer> {
  server = await startTestServer({ backend, config: { limits: { ...DEFAULT_LIMITS, ...limits } } });
  await server.createUser('alice');
  return server;
}

const condition = (reply: { getChild(name: string): { children: unknown[] } | undefined }): string | undefined =>
  (reply.getChild('error')?.children.find((child) => typeof child === 'object' && child !== null && 'name' in child && (child as { name: string }).name !== 'text') as { name: string } | undefined)?.name;

describe.each(BACKENDS)('per-account caps on %s', (backend) => {
  it('refuses a roster set that would add a contact past the roster size with not-allowed, and still accepts changes to listed ones', async () => {
    const s = await start(backend, { rosterItems: 2 });
    const alice = await s.login('alice');
    for (const contact of ['one', 'two']) expect((await alice.iq('set', `<query xmlns='jabber:iq:roster'><item jid='${contact}@localhost'/></query>`)).attrs.type).toBe('result');
    const refused = await alice.iq('set', "<query xmlns='jabber:iq:roster'><item jid='three@localhost'/></query>");
    expect([refused.attrs.type, condition(refused)]).toEqual(['error', 'not-allowed']);
    const renamed = await alice.iq('set', "<query xmlns='jabber:iq:roster'><item jid='one@localhost' name='One'/></query>");
    expect(renamed.attrs.type).toBe('result');
  });

  it('refuses a subscription request that would add a contact past the roster size', async () => {
    const s = await start(backend, { rosterItems: 1 });
    const alice = await s.login('alice');
    expect((await alice.iq('set', "<query xmlns='jabber:iq:roster'><item jid='one@localhost'/></query>")).attrs.type).toBe('result');
    alice.send("<presence to='two@localhost' type='subscribe' id='sub2'/>");
    const error = await alice.expect((element) => element.name === 'presence' && element.attrs.type === 'error');
    expect(condition(error)).toBe('not-allowed');
  });

  it('refuses a block past the blocklist size with resource-constraint', async () => {
    const s = await start(backend, { blocklistItems: 2 });
    const alice = await s.login('alice');
    const block = (jids: string[]) => alice.iq('set', `<block xmlns='urn:xmpp:blocking'>${jids.map((jid) => `<item jid='${jid}'/>`).join('')}</block>`);
    expect((await block(['a@example.net', 'b@example.net'])).attrs.type).toBe('result');
    const refused = await block(['c@example.net']);
    expect([refused.attrs.type, condition(refused)]).toEqual(['error', 'resource-constraint']);
    expect((await block(['a@example.net'])).attrs.type).toBe('result');
  });

  it('refuses a bind past the resources of one account with resource-constraint, but lets a resource replace itself', async () => {
    const s = await start(backend, { resourcesPerAccount: 2 });
    await s.login('alice', 'one');
    await s.login('alice', 'two');
    await expect(s.login('alice', 'three')).rejects.toThrow(/resource-constraint/);
    const again = await s.login('alice', 'two');
    expect(again.jid).toBe('alice@localhost/two');
  });
});
