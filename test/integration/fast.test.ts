// XEP-0484 FAST tokens in SASL2, in raw XML over real sockets: issued on one node, used on
// another; bound to a device, a mechanism and (for -EXPR) the TLS channel; a count is accepted
// once; gone after a password change, an invalidation or an account deletion.
import { randomUUID } from 'node:crypto';
import type { Element } from 'ltx';
import { describe, expect, it } from 'vitest';
import { changePassword, deleteAccount } from '../../src/core/accounts.js';
import { useTestServer } from '../support/fixture.js';
import { BACKENDS, PASSWORD, type TestServer } from '../support/server.js';
import { clientBinding, failureCondition, fast2, NS_FAST, NS_SASL2, plain2, readyForSasl2, userAgent } from '../support/sasl2.js';

function ports(server: TestServer): [number, number] {
  return [server.nodes[0]!.ports().c2s, server.nodes[server.nodes.length - 1]!.ports().c2s];
}

/** Logs in with PLAIN asking for a token of `mechanism`; resolves with the <token/>. */
async function issue(server: TestServer, user: string, agent: string, mechanism = 'HT-SHA-256-NONE', port?: number): Promise<Element> {
  const { client } = await readyForSasl2(server, port === undefined ? {} : { port });
  const success = await plain2(client, user, PASSWORD, `${userAgent(agent)}<request-token xmlns='${NS_FAST}' mechanism='${mechanism}'/>`);
  expect(success.name).toBe('success');
  const token = success.getChild('token', NS_FAST);
  if (!token) throw new Error(`no token in ${success.toString()}`);
  await client.close();
  return token;
}

describe.each(BACKENDS)('FAST tokens (%s backend)', (backend) => {
  const fixture = useTestServer({ backend });
  const user = fixture.user;

  it('offers the HT mechanisms in <fast/>, channel-bound first', async () => {
    const { client, features } = await readyForSasl2(fixture.server);
    const fast = features.getChild('authentication', NS_SASL2)?.getChild('inline')?.getChild('fast', NS_FAST);
    const offered = fast?.getChildren('mechanism').map((m) => m.getText());
    expect(offered?.at(-1)).toBe('HT-SHA-256-NONE');
    expect(offered).toContain('HT-SHA-256-EXPR');
    expect(offered).toContain('HT-SHA-256-ENDP');
    await client.close();
  });

  it('issues a token that expires in 21 days, and accepts it on another node in one round trip', async () => {
    const alice = await user('alice');
    const agent = randomUUID();
    const [first, last] = ports(fixture.server);
    const token = await issue(fixture.server, alice, agent, 'HT-SHA-256-NONE', first);
    const days = (Date.parse(String(token.attrs.expiry)) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(20.9);
    expect(days).toBeLessThan(21.1);
    const { client } = await readyForSasl2(fixture.server, { port: last });
    const { outcome, serverVerified } = await fast2(client, alice, String(token.attrs.token), { agent });
    expect(outcome.name).toBe('success');
    expect(serverVerified).toBe(true);
    expect(outcome.getChildText('authorization-identifier')).toBe(`${alice}@localhost`);
    await client.close();
  });

  it('refuses the token for another device, another mechanism, or with a wrong secret', async () => {
    const alice = await user('alice');
    const agent = randomUUID();
    const secret = String((await issue(fixture.server, alice, agent)).attrs.token);
    const { client } = await readyForSasl2(fixture.server);
    expect(failureCondition((await fast2(client, alice, secret, { agent: randomUUID() })).outcome)).toBe('not-authorized');
    expect(failureCondition((await fast2(client, alice, `${secret}x`, { agent })).outcome)).toBe('not-authorized');
    const endPoint = clientBinding(client, 'tls-server-end-point');
    expect(failureCondition((await fast2(client, alice, secret, { agent, mechanism: 'HT-SHA-256-ENDP', cbData: endPoint })).outcome)).toBe('not-authorized');
    // Still good for what it was issued for.
    expect((await fast2(client, alice, secret, { agent })).outcome.name).toBe('success');
    await client.close();
  });

  it('accepts a count once, and only counts that go up', async () => {
    const alice = await user('alice');
    const agent = randomUUID();
    const secret = String((await issue(fixture.server, alice, agent)).attrs.token);
    const attempt = async (count: number): Promise<string> => {
      const { client } = await readyForSasl2(fixture.server);
      const { outcome } = await fast2(client, alice, secret, { agent, inline: `<fast xmlns='${NS_FAST}' count='${count}'/>` });
      client.destroy();
      return outcome.name === 'success' ? 'success' : String(failureCondition(outcome));
    };
    expect(await attempt(5)).toBe('success');
    expect(await attempt(5)).toBe('not-authorized');
    expect(await attempt(4)).toBe('not-authorized');
    expect(await attempt(6)).toBe('success');
  });

  it('binds an -EXPR token to the TLS channel: the right exporter succeeds, another channel\'s fails', async () => {
    const alice = await user('alice');
    const agent = randomUUID();
    const secret = String((await issue(fixture.server, alice, agent, 'HT-SHA-256-EXPR')).attrs.token);
    const { client } = await readyForSasl2(fixture.server);
    const { client: other } = await readyForSasl2(fixture.server);
    const stolen = await fast2(client, alice, secret, { agent, mechanism: 'HT-SHA-256-EXPR', cbData: clientBinding(other, 'tls-exporter') });
    expect(failureCondition(stolen.outcome)).toBe('not-authorized');
    const own = await fast2(client, alice, secret, { agent, mechanism: 'HT-SHA-256-EXPR', cbData: clientBinding(client, 'tls-exporter') });
    expect(own.outcome.name).toBe('success');
    expect(own.serverVerified).toBe(true);
    await client.close();
    await other.close();
  });

  it('keeps the replaced token valid until the new one is used (rotation)', async () => {
    const alice = await user('alice');
    const agent = randomUUID();
    const old = String((await issue(fixture.server, alice, agent)).attrs.token);
    const fresh = String((await issue(fixture.server, alice, agent)).attrs.token);
    expect(fresh).not.toBe(old);
    const { client } = await readyForSasl2(fixture.server);
    expect((await fast2(client, alice, old, { agent })).outcome.name).toBe('success');
    const { client: next } = await readyForSasl2(fixture.server);
    expect((await fast2(next, alice, fresh, { agent })).outcome.name).toBe('success');
    const { client: late } = await readyForSasl2(fixture.server);
    expect(failureCondition((await fast2(late, alice, old, { agent })).outcome)).toBe('not-authorized');
    for (const c of [client, next, late]) c.destroy();
  });

  it('forgets the token on <fast invalidate="true"/>', async () => {
    const alice = await user('alice');
    const agent = randomUUID();
    const secret = String((await issue(fixture.server, alice, agent)).attrs.token);
    const { client } = await readyForSasl2(fixture.server);
    expect((await fast2(client, alice, secret, { agent, inline: `<fast xmlns='${NS_FAST}' invalidate='true'/>` })).outcome.name).toBe('success');
    const { client: again } = await readyForSasl2(fixture.server);
    expect(failureCondition((await fast2(again, alice, secret, { agent })).outcome)).toBe('not-authorized');
    client.destroy();
    again.destroy();
  });

  it('invalidates every token of the account when its password changes, on any node', async () => {
    const alice = await user('alice');
    const agent = randomUUID();
    const [first, last] = ports(fixture.server);
    const secret = String((await issue(fixture.server, alice, agent, 'HT-SHA-256-NONE', first)).attrs.token);
    const node = fixture.server.nodes[0]!;
    await changePassword(node.host.state, `${alice}@localhost`, PASSWORD, node.host);
    const { client } = await readyForSasl2(fixture.server, { port: last });
    expect(failureCondition((await fast2(client, alice, secret, { agent })).outcome)).toBe('not-authorized');
    client.destroy();
  });

  it('refuses the tokens of a deleted account', async () => {
    const alice = await user('alice');
    const agent = randomUUID();
    const secret = String((await issue(fixture.server, alice, agent)).attrs.token);
    const node = fixture.server.nodes[0]!;
    await deleteAccount(node.host.state, `${alice}@localhost`, node.host);
    await fixture.server.createUser(alice);
    const { client } = await readyForSasl2(fixture.server);
    expect(failureCondition((await fast2(client, alice, secret, { agent })).outcome)).toBe('not-authorized');
    client.destroy();
  });

  it('throttles failed tokens like failed passwords: the fifth failure closes the stream', async () => {
    const alice = await user('alice');
    const agent = randomUUID();
    await issue(fixture.server, alice, agent);
    const { client } = await readyForSasl2(fixture.server);
    for (let i = 0; i < 5; i++) expect(failureCondition((await fast2(client, alice, `guess-${i}`, { agent })).outcome)).toBe('not-authorized');
    expect((await client.expect('stream:error', 30_000)).getChild('policy-violation')).toBeDefined();
  }, 40_000);

  it('refuses FAST without a user-agent id', async () => {
    const alice = await user('alice');
    const { client } = await readyForSasl2(fixture.server);
    expect(failureCondition((await fast2(client, alice, 'whatever')).outcome)).toBe('malformed-request');
    await client.close();
  });
});
