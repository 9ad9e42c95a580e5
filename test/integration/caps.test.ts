// XEP-0115 Entity Capabilities in stream features, and the RFC 3921 legacy session feature
// (RFC 6121 Appendix E), over real sockets.
import { createHash } from 'node:crypto';
import type { Element } from 'ltx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, BACKENDS, startTestServer, type TestServer } from '../support/server.js';
import { type RawClient, xml } from '../support/client.js';

const NS_CAPS = 'http://jabber.org/protocol/caps';
const NS_INFO = 'http://jabber.org/protocol/disco#info';
const NS_SESSION = 'urn:ietf:params:xml:ns:xmpp-session';
const CAPS_NODE = 'https://rookery.example/caps';

interface Identity {
  category: string;
  type: string;
  lang?: string;
  name?: string;
}

/** XEP-0115 §5.1, written independently of the server: S = identities<features<, SHA-1, base64. */
function verificationString(identities: Identity[], features: string[]): string {
  const octets = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));
  const parts = [
    ...identities.map((i) => `${i.category}/${i.type}/${i.lang ?? ''}/${i.name ?? ''}`).sort(octets),
    ...[...features].sort(octets),
  ];
  return createHash('sha1').update(parts.map((part) => `${part}<`).join('')).digest('base64');
}

/** The ver a client would compute from a disco#info result. */
function verOf(info: Element): string {
  const query = info.getChild('query', NS_INFO) as Element;
  const identities = query.getChildren('identity').map((identity) => ({
    category: String(identity.attrs.category),
    type: String(identity.attrs.type),
    ...(identity.attrs['xml:lang'] !== undefined ? { lang: String(identity.attrs['xml:lang']) } : {}),
    ...(identity.attrs.name !== undefined ? { name: String(identity.attrs.name) } : {}),
  }));
  return verificationString(identities, query.getChildren('feature').map((feature) => String(feature.attrs.var)));
}

const capsOf = (features: Element): Element | undefined => features.getChild('c', NS_CAPS);

/** Authenticated and restarted, no resource bound: returns the post-authentication features. */
async function authenticated(server: TestServer, local: string): Promise<{ client: RawClient; features: Element }> {
  const client = await server.connect();
  await client.openStream();
  await client.startTls();
  await client.openStream();
  const outcome = await client.authPlain(local, PASSWORD);
  if (outcome.name !== 'success') throw new Error(`authentication failed: ${outcome.toString()}`);
  return { client, features: await client.openStream() };
}

describe('the XEP-0115 verification string used by these tests', () => {
  it('reproduces the simple generation example of XEP-0115 §5.2', () => {
    const ver = verificationString(
      [{ category: 'client', type: 'pc', name: 'Exodus 0.9.1' }],
      ['http://jabber.org/protocol/disco#info', 'http://jabber.org/protocol/disco#items', 'http://jabber.org/protocol/muc', 'http://jabber.org/protocol/caps'],
    );
    expect(ver).toBe('QgayPKawpkPSDYmwT/WM94uAlu0=');
  });
});

describe.each(BACKENDS)('entity capabilities and legacy session in stream features (%s backend)', (backend) => {
  let server: TestServer;
  let n = 0;
  const user = async (prefix: string): Promise<string> => {
    const local = `${prefix}${++n}`;
    await server.createUser(local);
    return local;
  };
  const discoVer = async (target: TestServer): Promise<string> => {
    const local = `probe${++n}`;
    await target.createUser(local);
    const client = await target.login(local, 'probe');
    const info = await client.iq('get', `<query xmlns='${NS_INFO}'/>`, 'localhost');
    expect(info.attrs.type).toBe('result');
    return verOf(info);
  };

  beforeAll(async () => {
    server = await startTestServer({ backend });
  });
  afterAll(() => server.stop());

  describe('entity capabilities', () => {
    it('announces sha-1 caps with the Rookery node before TLS, after TLS, over direct TLS and after authentication', async () => {
      const client = await server.connect();
      const plain = await client.openStream();
      await client.startTls();
      const secure = await client.openStream();
      const direct = await (await server.connect({ directTls: true })).openStream();
      const { features: bound } = await authenticated(server, await user('alice'));
      const all = [plain, secure, direct, bound].map(capsOf);
      for (const caps of all) {
        expect(caps).toBeDefined();
        expect(caps?.attrs.hash).toBe('sha-1');
        expect(caps?.attrs.node).toBe(CAPS_NODE);
      }
      expect(new Set(all.map((caps) => caps?.attrs.ver)).size).toBe(1);
    });

    it("carries the verification string of the server's own disco#info result", async () => {
      const features = await (await server.connect()).openStream();
      expect(capsOf(features)?.attrs.ver).toBe(await discoVer(server));
    });

    it('answers disco#info at node#ver with the same identities and features, and item-not-found for a stale ver', async () => {
      const ver = String(capsOf(await (await server.connect()).openStream())?.attrs.ver);
      const alice = await server.login(await user('alice'), 'desk');
      const plain = await alice.iq('get', `<query xmlns='${NS_INFO}'/>`, 'localhost');
      const atNode = await alice.iq('get', `<query xmlns='${NS_INFO}' node='${CAPS_NODE}#${ver}'/>`, 'localhost');
      expect(atNode.attrs.type).toBe('result');
      expect(atNode.getChild('query')?.attrs.node).toBe(`${CAPS_NODE}#${ver}`);
      expect(atNode.getChild('query')?.children.map(String)).toEqual(plain.getChild('query')?.children.map(String));
      const stale = await alice.iq('get', `<query xmlns='${NS_INFO}' node='${CAPS_NODE}#AAAAAAAAAAAAAAAAAAAAAAAAAAA='/>`, 'localhost');
      expect(stale.getChild('error')?.getChild('item-not-found')).toBeDefined();
    });

    it('follows the features: a server with other modules announces another ver, matching its disco#info', async () => {
      const other = await startTestServer({ backend, config: { allowRegistration: true } });
      try {
        const ver = capsOf(await (await other.connect()).openStream())?.attrs.ver;
        expect(ver).toBe(await discoVer(other));
        expect(ver).not.toBe(capsOf(await (await server.connect()).openStream())?.attrs.ver);
      } finally {
        await other.stop();
      }
    });

    it('recomputes the ver when a module is unloaded at run time', async () => {
      const other = await startTestServer({ backend });
      try {
        const before = capsOf(await (await other.connect()).openStream())?.attrs.ver;
        // A module is unloaded per node; a cluster announces the change once every node has it.
        for (const node of other.nodes) node.modules.unload('version');
        const after = capsOf(await (await other.connect()).openStream())?.attrs.ver;
        expect(after).not.toBe(before);
        expect(after).toBe(await discoVer(other));
      } finally {
        await other.stop();
      }
    });
  });

  describe('legacy session establishment', () => {
    it('offers an optional session after authentication only', async () => {
      const client = await server.connect();
      const plain = await client.openStream();
      await client.startTls();
      const secure = await client.openStream();
      expect(plain.getChild('session', NS_SESSION)).toBeUndefined();
      expect(secure.getChild('session', NS_SESSION)).toBeUndefined();
      const { features } = await authenticated(server, await user('alice'));
      expect(xml`<stream:features><session xmlns='${NS_SESSION}'><optional/></session></stream:features>`(features)).toBe(true);
    });

    it('answers the session iq after binding with an empty result', async () => {
      const alice = await server.login(await user('alice'), 'desk');
      const reply = await alice.iq('set', `<session xmlns='${NS_SESSION}'/>`);
      expect(reply.attrs.type).toBe('result');
      expect(reply.children).toEqual([]);
    });
  });
});
