// A stanza queued while a stream-managed client was away is redelivered after <resumed/> with a
// XEP-0203 <delay/> whose stamp keeps milliseconds: clients that order a chat by stamp (Converse.js)
// would otherwise put it before a message received live earlier in the same second.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, startTestServer, type TestServer } from '../support/server.js';
import { SmClient } from '../support/sm-client.js';

const NS_DELAY = 'urn:xmpp:delay';

describe('the stamp of a redelivered stanza', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ backend: 'memory' });
  });
  afterAll(() => server.stop());

  it('keeps milliseconds, and is when the stanza was queued', async () => {
    await server.createUser('away');
    await server.createUser('sender');
    const domain = server.config.domain;
    const away = await SmClient.login({ port: server.port, domain, username: 'away', password: PASSWORD, resource: 'phone' });
    const sender = await server.login('sender', 'desk');
    away.raw?.destroy();
    const deadline = Date.now() + 5000;
    while (((await server.server.state.resumption.get(away.bare, away.smId as string))?.detached_at ?? 0) === 0) {
      if (Date.now() > deadline) throw new Error('the stream was not detached');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const before = Date.now();
    sender.send(`<message to='${away.jid}' type='chat' id='queued'><body>while away</body></message>`);
    await sender.barrier();
    const after = Date.now();
    expect(await away.resume()).toBe(true);
    const message = await away.expect((element) => element.name === 'message' && element.attrs.id === 'queued');
    const stamp = message.getChild('delay', NS_DELAY)?.attrs.stamp as string;
    expect(stamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Date.parse(stamp)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(stamp)).toBeLessThanOrEqual(after);
  });
});
