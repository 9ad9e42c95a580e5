// The per-domain federation settings (doc/federation.md, "Security"), against a real Prosody that
// neither offers nor uses TLS between servers (`s2s_allow_encryption = false`): one Rookery per
// setting, each serving a domain of its own on a free port, which Prosody reaches by the test's
// route plugin, and reaching Prosody by a static route. A server whose settings let Prosody in
// carries messages both ways without TLS; one whose settings refuse it bounces our users'
// messages with the condition the setting gives, and Prosody bounces its user's.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.js';
import { RawClient } from '../support/client.js';
import { freePorts } from '../support/cluster.js';
import { prosodyAvailable, startProsody, type Prosody } from '../support/prosody.js';
import { PASSWORD, startTestServer, type TestServer } from '../support/server.js';

const PEER = 'prosody-plain.test';
const WAIT = 20_000;

/** One Rookery per case: its domain and the settings under test. */
const CASES = {
  /** s2sSecureAuth on, but Prosody is exempt: dialback, and no TLS. */
  insecure: { domain: 'insecure.rookery.test', config: { s2sSecureAuth: true, s2sInsecureDomains: PEER } },
  /** The defaults: TLS required. */
  strict: { domain: 'strict.rookery.test', config: {} },
  /** TLS not required in general, but Prosody's certificate must verify. */
  secure: { domain: 'secure.rookery.test', config: { s2sRequireEncryption: false, s2sSecureDomains: PEER } },
  /** TLS not required: the control for the refusals below. */
  lax: { domain: 'lax.rookery.test', config: { s2sRequireEncryption: false } },
  blocked: { domain: 'blocked.rookery.test', config: { s2sRequireEncryption: false, s2sBlockedDomains: PEER } },
  notAllowed: { domain: 'not-allowed.rookery.test', config: { s2sRequireEncryption: false, s2sAllowedDomains: 'elsewhere.example' } },
} satisfies Record<string, { domain: string; config: Partial<Config> }>;
type Case = keyof typeof CASES;

describe.skipIf(!prosodyAvailable())('per-domain federation settings, with a Prosody without TLS', () => {
  let prosody: Prosody;
  const servers = new Map<Case, TestServer>();
  let users = 0;

  beforeAll(async () => {
    const cases = Object.entries(CASES) as Array<[Case, (typeof CASES)[Case]]>;
    const [c2s, s2s, ...ports] = (await freePorts(2 + cases.length)) as [number, number, ...number[]];
    const routes = Object.fromEntries(cases.map(([, { domain }], index) => [domain, { host: '127.0.0.1', port: ports[index] as number }]));
    prosody = await startProsody(mkdtempSync(join(tmpdir(), 'rk-s2s-')), PEER, c2s, s2s, { s2sEncryption: false, routes });
    for (const [index, [name, { domain, config }]] of cases.entries()) {
      servers.set(name, await startTestServer({ config: { domain, s2sPort: ports[index] as number, s2sRoutes: `${PEER}=127.0.0.1:${s2s}`, ...config } }));
    }
  }, 60_000);
  afterAll(async () => {
    for (const server of servers.values()) await server.stop();
    if (process.env.S2S_LOG) console.log(prosody?.log());
    await prosody?.stop();
  });

  /** A client on the case's Rookery and one on Prosody, both available. */
  const pair = async (name: Case): Promise<{ local: RawClient; remote: RawClient; server: TestServer }> => {
    const server = servers.get(name) as TestServer;
    const user = `u${++users}x${process.pid}`;
    await server.createUser(user);
    prosody.register(user, PASSWORD);
    const local = await server.connect();
    await local.login(user, PASSWORD, 'r');
    const remote = await RawClient.connect({ port: prosody.c2sPort, domain: PEER });
    await remote.login(user, PASSWORD, 'p');
    local.send('<presence/>');
    remote.send('<presence/>');
    return { local, remote, server };
  };
  const chat = (to: string, id: string): string => `<message type='chat' to='${to}' id='${id}'><body>${id}</body></message>`;

  const federates = async (name: Case, auth: 'dialback'): Promise<void> => {
    const { local, remote, server } = await pair(name);
    local.send(chat(remote.bare, `${name}-out`));
    expect((await remote.expect((el) => el.name === 'message' && el.attrs.id === `${name}-out`, WAIT)).attrs.type).toBe('chat');
    remote.send(chat(local.bare, `${name}-in`));
    expect((await local.expect((el) => el.name === 'message' && el.attrs.id === `${name}-in`, WAIT)).attrs.type).toBe('chat');
    const streams = server.server.s2s?.streams() ?? [];
    expect(streams).toContainEqual({ direction: 'out', remote: PEER, ready: true, secure: false, directTls: false, auth });
    expect(streams).toContainEqual({ direction: 'in', remote: PEER, ready: true, secure: false, directTls: false, auth });
  };

  /** Ours bounces with `condition`; Prosody's user gets an error back, and ours nothing. */
  const refuses = async (name: Case, condition: string): Promise<void> => {
    const { local, remote, server } = await pair(name);
    local.send(chat(remote.bare, `${name}-out`));
    const bounced = await local.expect((el) => el.name === 'message' && el.attrs.id === `${name}-out`, WAIT);
    expect(bounced.attrs.type).toBe('error');
    expect(bounced.getChild('error')?.getChild(condition)).toBeDefined();
    remote.send(chat(local.bare, `${name}-in`));
    expect((await remote.expect((el) => el.name === 'message' && el.attrs.id === `${name}-in`, WAIT)).attrs.type).toBe('error');
    expect(local.inbox.some((el) => el.attrs.id === `${name}-in`)).toBe(false);
    expect(remote.inbox.some((el) => el.attrs.id === `${name}-out` && el.attrs.type !== 'error')).toBe(false);
    expect((server.server.s2s?.streams() ?? []).filter((stream) => stream.ready && stream.direction === 'in')).toEqual([]);
  };

  it('federates without TLS with a domain in s2sInsecureDomains, by dialback though s2sSecureAuth is on', async () => {
    await federates('insecure', 'dialback');
  }, 60_000);

  it('federates without TLS when s2sRequireEncryption is off', async () => {
    await federates('lax', 'dialback');
  }, 60_000);

  it('refuses a peer without TLS both ways by default (s2sRequireEncryption)', async () => {
    await refuses('strict', 'remote-server-not-found');
  }, 60_000);

  it('refuses a domain in s2sSecureDomains whose certificate cannot verify, though TLS is not required of others', async () => {
    await refuses('secure', 'remote-server-not-found');
  }, 60_000);

  it('refuses a domain in s2sBlockedDomains both ways, ours bouncing policy-violation', async () => {
    await refuses('blocked', 'policy-violation');
  }, 60_000);

  it('refuses a domain missing from s2sAllowedDomains both ways, ours bouncing policy-violation', async () => {
    await refuses('notAllowed', 'policy-violation');
  }, 60_000);
});
