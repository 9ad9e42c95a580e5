import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';

describe('a first conversation', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
    await server.createUser('alice');
    await server.createUser('bob');
  });
  afterAll(() => server.stop());

  it('lets two users log in, fetch rosters and exchange a message', async () => {
    const alice = await server.login('alice', 'home');
    const bob = await server.login('bob', 'work');
    expect(alice.jid).toBe('alice@localhost/home');
    const roster = await alice.iq('get', "<query xmlns='jabber:iq:roster'/>");
    expect(roster.attrs.type).toBe('result');
    alice.send("<presence/>");
    bob.send("<presence/>");
    await alice.expect('presence');
    alice.send("<message to='bob@localhost' type='chat' id='m1'><body>hi</body></message>");
    const message = await bob.expect('message');
    expect(message.attrs.from).toBe('alice@localhost/home');
    expect(message.getChildText('body')).toBe('hi');
  });
});
