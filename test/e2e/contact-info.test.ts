// XEP-0157 contact addresses, read by an independent client (@xmpp/client): the server's
// disco#info carries the http://jabber.org/network/serverinfo form with the configured kinds
// only, the same on every node of a cluster, and no such form when none is configured.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NS_SERVERINFO } from '../../src/modules/contact-info.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { type Element, xml, XmppTestClient } from '../support/xmpp-client.js';

const PASSWORD = 'correct horse battery staple';
const NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info';

/** The server's disco#info forms, each as FORM_TYPE → { field → values }. */
function forms(info: Element): Map<string, Record<string, string[]>> {
  const found = new Map<string, Record<string, string[]>>();
  for (const form of info.getChild('query', NS_DISCO_INFO)?.getChildren('x', 'jabber:x:data') ?? []) {
    const fields: Record<string, string[]> = {};
    for (const field of form.getChildren('field')) fields[String(field.attrs.var)] = field.getChildren('value').map((value) => value.getText());
    found.set(fields.FORM_TYPE?.[0] ?? '', fields);
  }
  return found;
}

describe.each(['memory', 'cluster'] as const)('XEP-0157 contact addresses (%s)', (backend) => {
  let server: TestServer;
  const clients: XmppTestClient[] = [];
  let accounts = 0;

  beforeAll(async () => {
    server = await startTestServer({
      backend,
      config: {
        contactAbuse: 'mailto:abuse@example.org, xmpp:abuse@example.org',
        contactAdmin: 'xmpp:admin@example.org',
        contactSecurity: 'mailto:security@example.org',
        contactSupport: 'https://example.org/help,xmpp:support@conference.example.org?join',
      },
    });
  });
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.stop()));
    await server?.stop();
  });

  async function serverInfo(): Promise<Element> {
    const username = `reader${++accounts}`;
    await server.createUser(username, PASSWORD);
    const client = await XmppTestClient.connect(server, { username, password: PASSWORD, resource: 'disco' });
    clients.push(client);
    const info = await client.iq('get', xml('query', { xmlns: NS_DISCO_INFO }), server.config.domain);
    expect(info.attrs.type).toBe('result');
    return info;
  }

  it('lists the configured kinds as list-multi fields of the serverinfo form, in the order configured, and leaves out the others', async () => {
    const info = await serverInfo();
    expect(forms(info).get(NS_SERVERINFO)).toEqual({
      FORM_TYPE: [NS_SERVERINFO],
      'abuse-addresses': ['mailto:abuse@example.org', 'xmpp:abuse@example.org'],
      'admin-addresses': ['xmpp:admin@example.org'],
      'security-addresses': ['mailto:security@example.org'],
      'support-addresses': ['https://example.org/help', 'xmpp:support@conference.example.org?join'],
    });
    const form = info.getChild('query', NS_DISCO_INFO)?.getChildren('x', 'jabber:x:data').find((x) => x.getChildren('field').some((f) => f.getChildText('value') === NS_SERVERINFO));
    expect(form?.attrs.type).toBe('result');
    expect(form?.getChildren('field').map((field) => `${field.attrs.var}:${field.attrs.type}`)).toEqual([
      'FORM_TYPE:hidden',
      'abuse-addresses:list-multi',
      'admin-addresses:list-multi',
      'security-addresses:list-multi',
      'support-addresses:list-multi',
    ]);
  });

  it('answers the same form on every node', async () => {
    // Placement spreads these logins over the nodes of a cluster.
    const [first, second] = [await serverInfo(), await serverInfo()];
    expect(forms(second).get(NS_SERVERINFO)).toEqual(forms(first).get(NS_SERVERINFO));
    if (backend === 'cluster') expect(new Set(clients.slice(-2).map((client) => client.node)).size).toBe(2);
  });
});

describe('XEP-0157 contact addresses, none configured', () => {
  let server: TestServer;
  let client: XmppTestClient | undefined;
  beforeAll(async () => {
    server = await startTestServer({ backend: 'memory' });
  });
  afterAll(async () => {
    await client?.stop();
    await server?.stop();
  });

  it('puts no serverinfo form in the server disco#info', async () => {
    await server.createUser('plain', PASSWORD);
    client = await XmppTestClient.connect(server, { username: 'plain', password: PASSWORD });
    const info = await client.iq('get', xml('query', { xmlns: NS_DISCO_INFO }), server.config.domain);
    expect(info.getChild('query', NS_DISCO_INFO)?.getChildren('feature').length).toBeGreaterThan(0);
    expect(forms(info).has(NS_SERVERINFO)).toBe(false);
  });
});
