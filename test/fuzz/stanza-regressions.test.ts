// What the handler fuzz found: stanzas answered when RFC 6120 §8.2.3 says they must not be (an
// iq result is never answered, not even when its address or id is malformed), and session
// state that grew with every distinct address a client named.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RawClient } from '../support/client.js';
import { type FuzzServer, startFuzzServer } from './server.js';

let server: FuzzServer;
let client: RawClient;

beforeAll(async () => {
  server = await startFuzzServer();
  await server.createUser('alice');
  client = await server.login('alice', 'desk');
});
afterAll(() => server?.stop());

/** Everything the server sent back before it answered a ping. */
async function repliesTo(xml: string): Promise<string[]> {
  client.clear();
  client.send(xml);
  await client.barrier();
  return client.inbox.map(String);
}

describe('stanzas that must not be answered', () => {
  it('does not answer an iq result with a malformed to', async () => {
    expect(await repliesTo("<iq type='result' id='r1' to='a@@localhost'/>")).toEqual([]);
  });

  it('does not answer an iq result without an id', async () => {
    expect(await repliesTo("<iq type='result'><query xmlns='jabber:iq:roster'/></iq>")).toEqual([]);
  });

  it('still answers an iq get with a malformed to with jid-malformed', async () => {
    const replies = await repliesTo("<iq type='get' id='g1' to='a@@localhost'><ping xmlns='urn:xmpp:ping'/></iq>");
    expect(replies).toHaveLength(1);
    expect(replies[0]).toContain('jid-malformed');
  });
});

describe('state a client can make the server keep', () => {
  it('remembers a bounded number of directed presence recipients and refuses more with resource-constraint', async () => {
    const sender = await server.login('alice', 'many');
    const session = server.server.host.local.get(sender.jid!);
    let xml = '';
    for (let i = 0; i < 1500; i++) xml += `<presence to='someone${i}@localhost/r'/>`;
    sender.send(xml);
    await sender.barrier();
    expect(session?.directed.size).toBe(1000);
    const refused = sender.take((e) => e.name === 'presence' && e.attrs.type === 'error' && String(e).includes('resource-constraint'));
    expect(refused).toHaveLength(500);
    // Recipients already known still get presence, and unavailable frees a place.
    sender.send("<presence to='someone0@localhost/r' type='unavailable'/><presence to='newcomer@localhost/r'/>");
    await sender.barrier();
    expect(sender.take((e) => e.attrs.type === 'error')).toEqual([]);
    expect(session?.directed.has('newcomer@localhost/r')).toBe(true);
  });
});
