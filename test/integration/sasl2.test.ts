// XEP-0388 SASL2, XEP-0386 Bind2 and XEP-0198 inline resumption, in raw XML over real sockets,
// on one node and with the two ends on different nodes of a cluster.
import { randomUUID } from 'node:crypto';
import type { Element } from 'ltx';
import { describe, expect, it } from 'vitest';
import type { RawClient } from '../support/client.js';
import { DEFAULT_LIMITS } from '../../src/config.js';
import { useTestServer } from '../support/fixture.js';
import { BACKENDS, PASSWORD, type TestServer } from '../support/server.js';
import { failureCondition, NS_BIND2, NS_SASL, NS_SASL2, NS_SM, plain2, readyForSasl2, scram2, userAgent } from '../support/sasl2.js';

const NS_CARBONS = 'urn:xmpp:carbons:2';
const NS_CSI = 'urn:xmpp:csi:0';

/** Waits until stream management on the node holding `jid` has counted `count` stanzas sent to it. */
async function sentTo(server: TestServer, jid: string, count: number): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const session = server.nodes.flatMap((node) => [...node.host.local.all()]).find((candidate) => candidate.full_jid === jid);
    if (((session?.sm as unknown as { sent?: number } | undefined)?.sent ?? 0) >= count) return;
    if (Date.now() > deadline) throw new Error(`${jid} was not sent ${count} stanzas`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The first and the last node: the same one outside 'cluster'. */
function ends(server: TestServer): [number, number] {
  const first = server.nodes[0]!.ports().c2s;
  const last = server.nodes[server.nodes.length - 1]!.ports().c2s;
  return [first, last];
}

/** Bind2 with a tag and the inline requests given, in a PLAIN <authenticate/> with a user-agent. */
async function bindLogin(server: TestServer, user: string, options: { port?: number; agent?: string; inline?: string; bind?: string } = {}): Promise<{ client: RawClient; success: Element }> {
  const { client } = await readyForSasl2(server, options.port === undefined ? {} : { port: options.port });
  const bind = `<bind xmlns='${NS_BIND2}'><tag>phone</tag>${options.bind ?? ''}</bind>`;
  const success = await plain2(client, user, PASSWORD, `${userAgent(options.agent)}${options.inline ?? ''}${bind}`);
  if (success.name !== 'success') throw new Error(`SASL2 failed: ${success.toString()}`);
  client.jid = success.getChildText('authorization-identifier') ?? undefined;
  return { client, success };
}

describe.each(BACKENDS)('SASL2, Bind2 and inline resumption (%s backend)', (backend) => {
  const fixture = useTestServer({ backend, config: { limits: { ...DEFAULT_LIMITS, authFailuresBeforeDelay: 3 } } });
  const user = fixture.user;

  describe('SASL2 (XEP-0388)', () => {
    it('offers <authentication/> with the mechanisms, Bind2 with its inline features, and inline resumption', async () => {
      const { client, features } = await readyForSasl2(fixture.server);
      const authentication = features.getChild('authentication', NS_SASL2);
      expect(authentication?.getChildren('mechanism').map((m) => m.getText())).toEqual(['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-1-PLUS', 'SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN']);
      const inline = authentication?.getChild('inline');
      expect(inline?.getChild('sm', NS_SM)).toBeDefined();
      const vars = inline?.getChild('bind', NS_BIND2)?.getChild('inline')?.getChildren('feature').map((f) => f.attrs.var);
      expect(vars).toEqual(expect.arrayContaining([NS_CARBONS, NS_SM, NS_CSI]));
      await client.close();
    });

    it('authenticates with PLAIN in one round trip, names the bare JID, and keeps the stream (no restart): legacy bind follows', async () => {
      const alice = await user('alice');
      const { client } = await readyForSasl2(fixture.server);
      const success = await plain2(client, alice, PASSWORD, userAgent());
      expect(success.name).toBe('success');
      expect(success.getChildText('authorization-identifier')).toBe(`${alice}@localhost`);
      // The same stream goes on: fresh features, then a legacy bind on it.
      const features = await client.expect('stream:features');
      expect(features.getChild('bind', 'urn:ietf:params:xml:ns:xmpp-bind')).toBeDefined();
      expect(features.getChild('authentication', NS_SASL2)).toBeUndefined();
      const bound = await client.bind('desk');
      expect(bound.getChild('bind')?.getChildText('jid')).toBe(`${alice}@localhost/desk`);
      await client.close();
    });

    it('runs SCRAM-SHA-256 with a challenge and proves the server in <additional-data/>', async () => {
      const alice = await user('alice');
      const { client } = await readyForSasl2(fixture.server);
      const { outcome, serverVerified } = await scram2(client, alice, PASSWORD, { inline: userAgent() });
      expect(outcome.name).toBe('success');
      expect(serverVerified).toBe(true);
      await client.close();
    });

    it('runs SCRAM-SHA-1 too', async () => {
      const alice = await user('alice');
      const { client } = await readyForSasl2(fixture.server);
      const { outcome, serverVerified } = await scram2(client, alice, PASSWORD, { hash: 'sha1' });
      expect(outcome.name).toBe('success');
      expect(serverVerified).toBe(true);
      await client.close();
    });

    it('answers a wrong password with <failure/> naming not-authorized, and lets the client try again', async () => {
      const alice = await user('alice');
      const { client } = await readyForSasl2(fixture.server);
      const failure = await plain2(client, alice, 'wrong');
      expect(failure.name).toBe('failure');
      expect(failureCondition(failure)).toBe('not-authorized');
      const { outcome } = await scram2(client, alice, 'also-wrong');
      expect(failureCondition(outcome)).toBe('not-authorized');
      const success = await plain2(client, alice, PASSWORD);
      expect(success.name).toBe('success');
      await client.close();
    });

    it('refuses a mechanism it does not offer with invalid-mechanism', async () => {
      const { client } = await readyForSasl2(fixture.server);
      client.send(`<authenticate xmlns='${NS_SASL2}' mechanism='DIGEST-MD5'/>`);
      const failure = await client.expect('failure');
      expect(failure.attrs.xmlns).toBe(NS_SASL2);
      expect(failure.getChild('invalid-mechanism', NS_SASL)).toBeDefined();
      await client.close();
    });

    it('refuses a user-agent id that is not a UUID with malformed-request', async () => {
      const alice = await user('alice');
      const { client } = await readyForSasl2(fixture.server);
      const failure = await plain2(client, alice, PASSWORD, "<user-agent id='not-a-uuid'/>");
      expect(failureCondition(failure)).toBe('malformed-request');
      await client.close();
    });

    it('answers <abort/> with aborted, and bad base64 with incorrect-encoding', async () => {
      const alice = await user('alice');
      const { client } = await readyForSasl2(fixture.server);
      client.send(`<authenticate xmlns='${NS_SASL2}' mechanism='SCRAM-SHA-256'><initial-response>${Buffer.from(`n,,n=${alice},r=abcdefgh`).toString('base64')}</initial-response></authenticate>`);
      await client.expect('challenge');
      client.send(`<abort xmlns='${NS_SASL2}'/>`);
      expect(failureCondition(await client.expect('failure'))).toBe('aborted');
      client.send(`<authenticate xmlns='${NS_SASL2}' mechanism='PLAIN'><initial-response>!!not base64!!</initial-response></authenticate>`);
      expect(failureCondition(await client.expect('failure'))).toBe('incorrect-encoding');
      await client.close();
    });

    it('sends no <continue/> (no tasks exist): an upgrade request fails, and a <next/> closes the stream, before or during an exchange', async () => {
      const alice = await user('alice');
      const { client: asking, features } = await readyForSasl2(fixture.server);
      expect(features.getChild('authentication', NS_SASL2)?.getChildren('upgrade')).toEqual([]);
      asking.send(`<authenticate xmlns='${NS_SASL2}' mechanism='PLAIN' upgrade='SCRAM-SHA-256'><initial-response>${Buffer.from(`\0${alice}\0${PASSWORD}`).toString('base64')}</initial-response></authenticate>`);
      const refused = await asking.expect('failure');
      expect(failureCondition(refused)).toBe('invalid-mechanism');
      asking.send(`<next xmlns='${NS_SASL2}' task='UPGR-SCRAM-SHA-256'/>`);
      expect((await asking.expect('stream:error')).getChild('not-authorized')).toBeDefined();

      const { client: midway } = await readyForSasl2(fixture.server);
      midway.send(`<authenticate xmlns='${NS_SASL2}' mechanism='SCRAM-SHA-256'><initial-response>${Buffer.from(`n,,n=${alice},r=abcdefgh`).toString('base64')}</initial-response></authenticate>`);
      await midway.expect('challenge');
      midway.send(`<next xmlns='${NS_SASL2}' task='TOTP'/>`);
      expect((await midway.expect('stream:error')).getChild('not-authorized')).toBeDefined();
    });

    it('closes the stream on an <authenticate/> after its <success/> (XEP-0388 §3.3.6)', async () => {
      const alice = await user('alice');
      const { client } = await readyForSasl2(fixture.server);
      expect((await plain2(client, alice, PASSWORD, userAgent())).name).toBe('success');
      await client.expect('stream:features');
      client.send(`<authenticate xmlns='${NS_SASL2}' mechanism='PLAIN'><initial-response>${Buffer.from(`\0${alice}\0${PASSWORD}`).toString('base64')}</initial-response></authenticate>`);
      expect((await client.expect('stream:error')).name).toBe('stream:error');
    });

    it('slows down and then closes a connection after repeated failures, as legacy SASL does', async () => {
      const alice = await user('alice');
      const { client } = await readyForSasl2(fixture.server);
      for (let i = 0; i < 5; i++) expect(failureCondition(await plain2(client, alice, `wrong-${i}`))).toBe('not-authorized');
      const error = await client.expect('stream:error', 30_000);
      expect(error.getChild('policy-violation')).toBeDefined();
    }, 40_000);
  });

  describe('Bind2 (XEP-0386)', () => {
    it('binds inside the authentication, with a resource from the tag and the user-agent id, stable per device', async () => {
      const alice = await user('alice');
      const agent = randomUUID();
      const first = await bindLogin(fixture.server, alice, { agent });
      expect(first.success.getChild('bound', NS_BIND2)).toBeDefined();
      const jid = first.success.getChildText('authorization-identifier') as string;
      expect(jid).toMatch(new RegExp(`^${alice}@localhost/phone\\.[A-Za-z0-9_-]{8}$`));
      // Bound at once: no features to negotiate, stanzas flow.
      first.client.send('<presence/>');
      await first.client.expect((element) => element.name === 'presence' && element.attrs.from === jid);
      await first.client.barrier();
      expect(first.client.take('stream:features')).toEqual([]);
      await first.client.close();
      const again = await bindLogin(fixture.server, alice, { agent });
      expect(again.success.getChildText('authorization-identifier')).toBe(jid);
      const other = await bindLogin(fixture.server, alice, { agent: randomUUID() });
      expect(other.success.getChildText('authorization-identifier')).not.toBe(jid);
      await again.client.close();
      await other.client.close();
    });

    it('enables carbons inline: a message sent by another resource is copied to it, across nodes', async () => {
      const alice = await user('alice');
      const bob = await user('bob');
      const [first, last] = ends(fixture.server);
      const phone = await bindLogin(fixture.server, alice, { port: first, bind: `<enable xmlns='${NS_CARBONS}'/>` });
      const desk = await fixture.server.connect({ port: last });
      await desk.login(alice, PASSWORD, 'desk');
      desk.send(`<message to='${bob}@localhost' type='chat' id='c1'><body>hi</body></message>`);
      const copy = await phone.client.expect((element) => element.name === 'message' && element.getChild('sent', NS_CARBONS) !== undefined, 10_000);
      expect(copy.attrs.to).toBe(phone.client.jid);
      await phone.client.close();
      await desk.close();
    });

    it('makes the session inactive inside the bind (CSI inline, XEP-0352): a chat state waits until <active/>, on another node too', async () => {
      const alice = await user('alice');
      const bob = await user('bob');
      const [first, last] = ends(fixture.server);
      const { client, success } = await bindLogin(fixture.server, alice, { port: first, bind: `<enable xmlns='${NS_SM}'/><inactive xmlns='${NS_CSI}'/>` });
      expect(success.getChild('bound', NS_BIND2)?.getChild('enabled', NS_SM)).toBeDefined();
      const jid = client.jid as string;
      const sender = await fixture.server.connect({ port: last });
      await sender.login(bob, PASSWORD, 'desk');
      sender.send(`<message to='${jid}' type='chat' id='typing'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>`);
      await sentTo(fixture.server, jid, 1);
      // A nonza round trip on the same stream: what was held is still not there.
      client.send(`<r xmlns='${NS_SM}'/>`);
      await client.expect('a');
      expect(client.log.some((element) => element.name === 'message')).toBe(false);
      client.send(`<active xmlns='${NS_CSI}'/>`);
      expect((await client.expect('message')).attrs.id).toBe('typing');
      await client.close();
      await sender.close();
    });

    it('enables stream management inline, resumable, and answers <r/> after it', async () => {
      const alice = await user('alice');
      const { client, success } = await bindLogin(fixture.server, alice, { bind: `<enable xmlns='${NS_SM}' resume='true'/>` });
      const enabled = success.getChild('bound', NS_BIND2)?.getChild('enabled', NS_SM);
      expect(enabled?.attrs.resume).toBe('true');
      expect(String(enabled?.attrs.id ?? '')).not.toBe('');
      client.send(`<r xmlns='${NS_SM}'/>`);
      expect((await client.expect('a')).attrs.h).toBe('0');
      await client.close();
    });
  });

  describe('inline resumption (XEP-0198 in SASL2)', () => {
    it('resumes a session whose connection died, inside <success/>, on the other node, and redelivers what it missed', async () => {
      const alice = await user('alice');
      const bob = await user('bob');
      const [first, last] = ends(fixture.server);
      const agent = randomUUID();
      const phone = await bindLogin(fixture.server, alice, { port: first, agent, bind: `<enable xmlns='${NS_SM}' resume='true'/>` });
      const previd = String(phone.success.getChild('bound', NS_BIND2)?.getChild('enabled', NS_SM)?.attrs.id);
      const jid = phone.client.jid as string;
      phone.client.destroy();
      const sender = await fixture.server.login(bob, 'desk');
      sender.send(`<message to='${jid}' type='chat' id='missed'><body>while away</body></message>`);
      await sender.barrier();
      const back = await bindLogin(fixture.server, alice, {
        port: last,
        agent,
        inline: `<resume xmlns='${NS_SM}' previd='${previd}' h='0'/>`,
        bind: `<enable xmlns='${NS_SM}' resume='true'/>`,
      });
      const resumed = back.success.getChild('resumed', NS_SM);
      expect(resumed?.attrs.previd).toBe(previd);
      // Resumed, so not bound again: the same full JID, and no <bound/>.
      expect(back.success.getChildText('authorization-identifier')).toBe(jid);
      expect(back.success.getChild('bound', NS_BIND2)).toBeUndefined();
      const message = await back.client.expect((element) => element.name === 'message' && element.attrs.id === 'missed', 10_000);
      expect(message.getChildText('body')).toBe('while away');
      // The <success/> came before the redelivered message.
      const order = back.client.log.map((element) => element.name);
      expect(order.indexOf('success')).toBeLessThan(order.indexOf('message'));
      await back.client.close();
      await sender.close();
    });

    it('answers an unknown stream with <failed/> inside <success/> and binds a new resource instead', async () => {
      const alice = await user('alice');
      const { client, success } = await bindLogin(fixture.server, alice, { inline: `<resume xmlns='${NS_SM}' previd='nope' h='0'/>` });
      expect(success.getChild('failed', NS_SM)?.getChild('item-not-found')).toBeDefined();
      expect(success.getChild('bound', NS_BIND2)).toBeDefined();
      expect(success.getChildText('authorization-identifier')).toMatch(/\/phone\./);
      await client.close();
    });
  });
});
