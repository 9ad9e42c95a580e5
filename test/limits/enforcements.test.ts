// Every configured limit that refuses or slows something down is counted under a stable label
// (rookery_limits_enforced_total{limit}).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../src/config.js';
import type { RawClient } from '../support/client.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { recordLimits } from './support.js';

let server: TestServer;
let enforced: Map<string, number>;
let n = 0;
const user = async (prefix: string): Promise<string> => {
  const local = `${prefix}${++n}`;
  await server.createUser(local);
  return local;
};

beforeAll(async () => {
  server = await startTestServer({
    config: { limits: { ...DEFAULT_LIMITS, maxStanzaBytes: 5_000, maxDepth: 8, offlineMessages: 1, authFailuresBeforeDelay: 1 } },
  });
  enforced = recordLimits(server.server.host);
});
afterAll(() => server.stop());

async function streamError(client: RawClient): Promise<string | undefined> {
  const error = await client.expect('stream:error');
  return error.getChildByAttr('xmlns', 'urn:ietf:params:xml:ns:xmpp-streams')?.name;
}

describe('limits enforced are counted', () => {
  it('counts a stanza over the size limit as stanza_size', async () => {
    const alice = await server.login(await user('alice'));
    alice.send(`<message><body>${'x'.repeat(6_000)}</body></message>`);
    expect(await streamError(alice)).toBe('policy-violation');
    expect(enforced.get('stanza_size')).toBe(1);
  });

  it('counts a stanza nested too deeply as stanza_depth', async () => {
    const alice = await server.login(await user('alice'));
    alice.send(`<message>${'<a>'.repeat(10)}`);
    expect(await streamError(alice)).toBe('policy-violation');
    expect(enforced.get('stanza_depth')).toBe(1);
  });

  it('counts a message bounced from a full offline store as offline_quota', async () => {
    const alice = await server.login(await user('alice'));
    const bob = `${await user('bob')}@localhost`;
    alice.send(`<message to='${bob}' type='chat' id='kept'><body>1</body></message>`);
    alice.send(`<message to='${bob}' type='chat' id='bounced'><body>2</body></message>`);
    const bounce = await alice.expect((e) => e.name === 'message' && e.attrs.id === 'bounced');
    expect(bounce.attrs.type).toBe('error');
    expect(enforced.get('offline_quota')).toBe(1);
  });

  it('counts slowed-down authentication replies as auth_throttle', async () => {
    const local = await user('carol');
    const client = await server.connect({ localAddress: '127.0.0.3' });
    await client.openStream();
    await client.startTls();
    await client.openStream();
    expect((await client.authPlain(local, 'wrong')).name).toBe('failure');
    expect((await client.authPlain(local, 'wrong')).name).toBe('failure');
    expect(enforced.get('auth_throttle')).toBeGreaterThan(0);
    client.destroy();
  });

  it('counts a connection closed for not authenticating in time as auth_timeout', async () => {
    const quick = await startTestServer({ config: { limits: { ...DEFAULT_LIMITS, authTimeoutSeconds: 1 } } });
    try {
      const counted = recordLimits(quick.server.host);
      const client = await quick.connect();
      await client.openStream();
      expect(await streamError(client)).toBe('connection-timeout');
      expect(counted.get('auth_timeout')).toBe(1);
    } finally {
      await quick.stop();
    }
  });
});
