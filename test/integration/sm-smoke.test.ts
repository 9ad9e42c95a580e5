import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, startTestServer, type TestServer } from '../support/server.js';

describe.each(BACKENDS)('stream management on %s', (backend) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ backend });
    await server.createUser('alice');
    await server.createUser('bob');
  });
  afterAll(() => server.stop());

  it('resumes a dropped session on the same node and redelivers what was not acknowledged', async () => {
    const alice = await server.login('alice', 'phone');
    alice.send("<enable xmlns='urn:xmpp:sm:3' resume='true'/>");
    const enabled = await alice.expect('enabled');
    const token = String(enabled.attrs.id);
    expect(enabled.attrs.resume).toBe('true');
    alice.send('<presence/>');
    await alice.expect('presence');
    const bob = await server.login('bob', 'desk');
    bob.send("<message to='alice@localhost/phone' type='chat' id='m1'><body>one</body></message>");
    await alice.expect((el) => el.name === 'message' && el.attrs.id === 'm1');
    alice.destroy();
    await alice.closed();
    bob.send("<message to='alice@localhost/phone' type='chat' id='m2'><body>two</body></message>");
    await bob.barrier();
    // Back to the node that held the stream (resumption elsewhere is test/sm/cluster.test.ts's).
    const again = await server.connect({ port: server.nodeOf(alice).ports().c2s });
    await again.openStream();
    await again.startTls();
    await again.openStream();
    expect((await again.authPlain('alice', 'secret-password')).name).toBe('success');
    await again.openStream();
    again.send(`<resume xmlns='urn:xmpp:sm:3' previd='${token}' h='0'/>`);
    const resumed = await again.expect('resumed');
    expect(resumed.attrs.previd).toBe(token);
    const redelivered = await again.expect((el) => el.name === 'message' && el.attrs.id === 'm2');
    expect(redelivered.getChildText('body')).toBe('two');
    again.send("<message to='bob@localhost/desk' type='chat' id='m3'><body>back</body></message>");
    expect((await bob.expect((el) => el.name === 'message' && el.attrs.id === 'm3')).attrs.from).toBe('alice@localhost/phone');
  });
});
