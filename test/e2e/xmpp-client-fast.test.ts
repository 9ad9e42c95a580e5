// @xmpp/client's SASL2 with FAST (XEP-0484) and Bind2 against a two-node cluster: its password
// login asks for a token, the token logs the same device in on the other node, and after a
// password change the library's token is refused and it falls back to the (new) password.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastToken } from '@xmpp/client';
import { changePassword } from '../../src/core/accounts.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { bind2Resource, XmppTestClient } from '../support/xmpp-client.js';

const PASSWORD = 'secret-password';

describe('@xmpp/client with FAST tokens across nodes', () => {
  let server: TestServer;
  let n = 0;
  beforeAll(async () => {
    server = await startTestServer({ backend: 'cluster' });
  });
  afterAll(() => server?.stop());

  const account = async (): Promise<string> => {
    const local = `fast${++n}`;
    await server.createUser(local, PASSWORD);
    return local;
  };
  const authenticates = (client: XmppTestClient): string[] =>
    client.sent.filter((element) => element.name === 'authenticate').map((element) => String(element.attrs.mechanism));

  it('gets a token with its password login and logs in with it on the other node, as the same device', async () => {
    const alice = await account();
    const first = await XmppTestClient.connect(server, { username: alice, password: PASSWORD, resource: 'laptop' });
    expect(authenticates(first)).toEqual(['SCRAM-SHA-1']);
    const token = (await first.xmpp.fast.fetch()) as FastToken;
    expect(token.mechanism).toBe('HT-SHA-256-NONE');
    expect(first.jid).toMatch(bind2Resource('laptop'));
    await first.xmpp.stop();

    const second = new XmppTestClient(server, { username: alice, password: 'not-needed', resource: 'laptop' });
    expect(second.node).not.toBe(first.node);
    second.xmpp.fast.fetchToken = async (): Promise<FastToken> => token;
    await second.start();
    expect(authenticates(second)).toEqual(['HT-SHA-256-NONE']);
    expect(second.jid).toBe(first.jid);
    expect((await second.barrier()).attrs.type).toBe('result');
    await second.xmpp.stop();
  });

  it('falls back to the password when a password change revoked its token', async () => {
    const alice = await account();
    const first = await XmppTestClient.connect(server, { username: alice, password: PASSWORD, resource: 'phone' });
    const token = (await first.xmpp.fast.fetch()) as FastToken;
    await first.xmpp.stop();
    const node = server.nodes[0]!;
    await changePassword(node.host.state, `${alice}@localhost`, 'new-password', node.host);

    const again = new XmppTestClient(server, { username: alice, password: 'new-password', resource: 'phone' });
    again.xmpp.fast.fetchToken = async (): Promise<FastToken> => token;
    await again.start();
    expect(authenticates(again)).toEqual(['HT-SHA-256-NONE', 'SCRAM-SHA-1']);
    expect(again.status).toBe('online');
    // The fallback asked for a fresh token, and got one.
    const success = again.nonzas.find((element) => element.name === 'success' && element.attrs.xmlns === 'urn:xmpp:sasl:2');
    const fresh = success?.getChild('token', 'urn:xmpp:fast:0')?.attrs.token;
    expect(fresh).toMatch(/^fast-/);
    expect(fresh).not.toBe(token.token);
    await again.xmpp.stop();
  });
});
