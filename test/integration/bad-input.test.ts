// RFC 6120 §4.9 (stream errors), §11 (restricted XML) and §8 (stanza validation): what the server
// does with input it must refuse. After each test a new client still logs in, so no bad input
// takes the process down.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../src/config.js';
import { befriend, type RawClient, xml } from '../support/client.js';
import { BACKENDS, PASSWORD, startTestServer, type TestServer } from '../support/server.js';

const NS_STREAMS = 'urn:ietf:params:xml:ns:xmpp-streams';
const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';
const HEADER_ATTRS = "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'";

/** Waits for <stream:error><condition/></stream:error>, then for the connection to close. */
async function expectStreamError(client: RawClient, condition: string): Promise<void> {
  const error = await client.expect('stream:error');
  expect(error.getChildByAttr('xmlns', NS_STREAMS)?.name).toBe(condition);
  await client.closed();
  expect(client.streamClosed).toBe(true);
}

describe.each(BACKENDS)('bad input (%s backend)', (backend) => {
  let server: TestServer;
  let n = 0;
  const user = async (prefix: string): Promise<string> => {
    const local = `${prefix}${++n}`;
    await server.createUser(local);
    return local;
  };
  /** A bound client of a fresh account, plus a bound and available second account to route to. */
  const pair = async (): Promise<{ alice: RawClient; bob: RawClient }> => {
    const alice = await server.login(await user('alice'), 'desk');
    const bob = await server.login(await user('bob'), 'desk');
    bob.send('<presence/>');
    await bob.expect('presence');
    return { alice, bob };
  };

  beforeAll(async () => {
    server = await startTestServer({ backend, config: { limits: { ...DEFAULT_LIMITS, maxStanzaBytes: 10_000 } } });
    await server.createUser('survivor');
  });
  afterAll(() => server.stop());
  afterEach(async () => {
    const client = await server.login('survivor');
    await client.barrier();
    await client.close();
  });

  describe('stream errors', () => {
    it('closes the stream with not-well-formed on mismatched tags', async () => {
      const { alice, bob } = await pair();
      alice.send(`<message to='${bob.bare}'><body>hello</message>`);
      await expectStreamError(alice, 'not-well-formed');
      await bob.barrier();
      expect(bob.take('message')).toEqual([]);
    });

    it('closes the stream with not-well-formed on text between stanzas', async () => {
      const client = await server.connect();
      await client.openStream();
      client.send('hello');
      await expectStreamError(client, 'not-well-formed');
    });

    it('closes the stream with restricted-xml on a DOCTYPE before the header', async () => {
      const client = await server.connect();
      client.send(`<?xml version='1.0'?><!DOCTYPE stream:stream [<!ENTITY boom 'BOOM'>]><stream:stream ${HEADER_ATTRS} to='localhost'>`);
      await expectStreamError(client, 'restricted-xml');
    });

    it('closes the stream with restricted-xml on an ENTITY declaration between stanzas', async () => {
      const client = await server.connect();
      await client.openStream();
      client.send("<!ENTITY boom 'BOOM'>");
      await expectStreamError(client, 'restricted-xml');
    });

    it('closes the stream with restricted-xml on an entity reference, and never expands it', async () => {
      const { alice, bob } = await pair();
      alice.send(`<message to='${bob.bare}' type='chat'><body>&boom;</body></message>`);
      await expectStreamError(alice, 'restricted-xml');
      await bob.barrier();
      expect(bob.take('message')).toEqual([]);
    });

    it('closes the stream with restricted-xml on a processing instruction between stanzas', async () => {
      const client = await server.connect();
      await client.openStream();
      client.send("<?evil data?>");
      await expectStreamError(client, 'restricted-xml');
    });

    it('closes the stream with restricted-xml on a processing instruction inside a stanza', async () => {
      const { alice } = await pair();
      alice.send("<message><?evil data?></message>");
      await expectStreamError(alice, 'restricted-xml');
    });

    it('closes the stream with restricted-xml on a comment between stanzas', async () => {
      const client = await server.connect();
      await client.openStream();
      client.send('<!-- a comment -->');
      await expectStreamError(client, 'restricted-xml');
    });

    it('closes the stream with restricted-xml on a comment inside a stanza', async () => {
      const { alice, bob } = await pair();
      alice.send(`<message to='${bob.bare}'><body>hi<!-- a comment --></body></message>`);
      await expectStreamError(alice, 'restricted-xml');
      await bob.barrier();
      expect(bob.take('message')).toEqual([]);
    });

    it('closes the stream with invalid-namespace on a wrong stream namespace', async () => {
      const client = await server.connect();
      client.send("<stream:stream xmlns='jabber:client' xmlns:stream='http://example.com/streams' to='localhost' version='1.0'>");
      await expectStreamError(client, 'invalid-namespace');
    });

    it('closes the stream with invalid-namespace on a wrong default namespace', async () => {
      const client = await server.connect();
      client.send("<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>");
      await expectStreamError(client, 'invalid-namespace');
    });

    it('closes the stream with bad-namespace-prefix when the stream prefix is not stream', async () => {
      const client = await server.connect();
      client.send("<s:stream xmlns='jabber:client' xmlns:s='http://etherx.jabber.org/streams' to='localhost' version='1.0'>");
      await expectStreamError(client, 'bad-namespace-prefix');
    });

    it('closes the stream with host-unknown for a domain it does not serve', async () => {
      const client = await server.connect();
      client.send(`<stream:stream ${HEADER_ATTRS} to='example.org'>`);
      await expectStreamError(client, 'host-unknown');
      expect(client.streamHeader?.from).toBe('localhost');
    });

    it("closes the stream with improper-addressing when the header has no 'to'", async () => {
      const client = await server.connect();
      client.send(`<stream:stream ${HEADER_ATTRS}>`);
      await expectStreamError(client, 'improper-addressing');
    });

    it('closes the stream with policy-violation on a stanza over the size limit, before its closing tag', async () => {
      const { alice, bob } = await pair();
      alice.send(`<message to='${bob.bare}' type='chat'><body>${'x'.repeat(20_000)}`);
      await expectStreamError(alice, 'policy-violation');
      await bob.barrier();
      expect(bob.take('message')).toEqual([]);
    });

    it('accepts a stanza just under the size limit', async () => {
      const { alice, bob } = await pair();
      const body = 'x'.repeat(9_000);
      alice.send(`<message to='${bob.bare}' type='chat'><body>${body}</body></message>`);
      const message = await bob.expect('message');
      expect(message.getChildText('body')).toBe(body);
    });

    it('closes the stream with policy-violation on a stanza over the size limit before authentication', async () => {
      const client = await server.connect();
      await client.openStream();
      client.send(`<message><body>${'x'.repeat(20_000)}`);
      await expectStreamError(client, 'policy-violation');
    });

    it('closes the stream with policy-violation on elements nested deeper than the limit', async () => {
      const { alice } = await pair();
      alice.send(`<message>${'<a>'.repeat(DEFAULT_LIMITS.maxDepth + 10)}`);
      await expectStreamError(alice, 'policy-violation');
    });

    it('closes the stream with unsupported-stanza-type on an unknown top-level element after bind', async () => {
      const { alice } = await pair();
      alice.send("<thing xmlns='urn:example:unknown'/>");
      await expectStreamError(alice, 'unsupported-stanza-type');
    });
  });

  describe('after a stream error', () => {
    it('the session is gone at once, even while the client keeps its connection open', async () => {
      const aliceLocal = await user('alice');
      const alice = await server.connect({ holdOpen: true });
      await alice.login(aliceLocal, PASSWORD, 'desk');
      const bob = await server.login(await user('bob'), 'desk');
      await befriend(alice, bob);
      alice.send('<presence/>');
      await alice.expect(xml`<presence from='${alice.jid}'/>`);
      bob.send('<presence/>');
      await bob.expect(xml`<presence from='${alice.jid}'/>`);

      alice.send('<message><body>broken</message>');
      await alice.expect('stream:error');
      expect(alice.socketClosed).toBe(false); // the client has not closed its side
      await bob.expect(xml`<presence from='${alice.jid}' type='unavailable'/>`, 2000);
      // A message now is not written into the dead stream: it waits offline.
      bob.send(`<message to='${aliceLocal}@localhost' type='chat' id='after'><body>are you there?</body></message>`);
      await bob.barrier();
      expect(bob.take(xml`<message type='error'/>`)).toEqual([]);
      const again = await server.login(aliceLocal, 'desk');
      again.send('<presence/>');
      await again.expect(xml`<message id='after'><body>are you there?</body></message>`);
      alice.destroy();
    });
  });

  describe('stanza checks', () => {
    it("replaces the client's 'from' with its full JID", async () => {
      const { alice, bob } = await pair();
      alice.send(`<message from='mallory@localhost/evil' to='${bob.bare}' type='chat' id='spoof'><body>trust me</body></message>`);
      await bob.expect(xml`<message from='${alice.jid}' to='${bob.bare}' id='spoof'/>`);
    });

    it("replaces a bare 'from' of the client's own account too", async () => {
      const { alice, bob } = await pair();
      alice.send(`<message from='${alice.bare}' to='${bob.bare}' type='chat' id='bare'><body>hi</body></message>`);
      await bob.expect(xml`<message from='${alice.jid}' id='bare'/>`);
    });

    it("answers an invalid 'to' with jid-malformed", async () => {
      const { alice } = await pair();
      alice.send("<message to='bad@@localhost' id='m1' type='chat'><body>hi</body></message>");
      await alice.expect(xml`<message type='error' id='m1'><error type='modify'><jid-malformed xmlns='${NS_STANZAS}'/></error></message>`);
      alice.send("<iq to='user@' id='i1' type='get'><ping xmlns='urn:xmpp:ping'/></iq>");
      await alice.expect(xml`<iq type='error' id='i1'><error type='modify'><jid-malformed xmlns='${NS_STANZAS}'/></error></iq>`);
    });

    it('answers an iq without an id with bad-request', async () => {
      const { alice } = await pair();
      alice.send("<iq type='get'><query xmlns='jabber:iq:roster'/></iq>");
      const reply = await alice.expect(xml`<iq type='error'><error type='modify'><bad-request xmlns='${NS_STANZAS}'/></error></iq>`);
      expect(reply.attrs.id).toBeUndefined();
    });

    it('drops an iq error without an id instead of answering it with another error', async () => {
      const { alice } = await pair();
      alice.send(`<iq type='error'><error type='cancel'><item-not-found xmlns='${NS_STANZAS}'/></error></iq>`);
      await alice.barrier();
      expect(alice.take('iq')).toEqual([]);
    });

    it('answers an iq with an unknown type with bad-request', async () => {
      const { alice } = await pair();
      alice.send("<iq type='fetch' id='t1'><query xmlns='jabber:iq:roster'/></iq>");
      await alice.expect(xml`<iq type='error' id='t1'><error type='modify'><bad-request xmlns='${NS_STANZAS}'/></error></iq>`);
      alice.send("<iq id='t2'><query xmlns='jabber:iq:roster'/></iq>");
      await alice.expect(xml`<iq type='error' id='t2'><error type='modify'><bad-request xmlns='${NS_STANZAS}'/></error></iq>`);
    });

    it('answers an iq get with two children, or none, with bad-request', async () => {
      const { alice } = await pair();
      alice.send("<iq type='get' id='two'><query xmlns='jabber:iq:roster'/><ping xmlns='urn:xmpp:ping'/></iq>");
      await alice.expect(xml`<iq type='error' id='two'><error type='modify'><bad-request xmlns='${NS_STANZAS}'/></error></iq>`);
      alice.send("<iq type='set' id='none'/>");
      await alice.expect(xml`<iq type='error' id='none'><error type='modify'><bad-request xmlns='${NS_STANZAS}'/></error></iq>`);
    });

    it('keeps the stream open after stanza errors', async () => {
      const { alice } = await pair();
      alice.send("<iq type='fetch' id='t1'/>");
      await alice.expect(xml`<iq type='error' id='t1'/>`);
      const roster = await alice.iq('get', "<query xmlns='jabber:iq:roster'/>");
      expect(xml`<iq type='result'><query xmlns='jabber:iq:roster'/></iq>`(roster)).toBe(true);
      expect(alice.socketClosed).toBe(false);
    });
  });
});
