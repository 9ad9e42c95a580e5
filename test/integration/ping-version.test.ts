// XEP-0199 XMPP Ping and XEP-0092 Software Version, over real sockets.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { xml } from '../support/client.js';
import { useTestServer, condition } from '../support/fixture.js';
import { BACKENDS } from '../support/server.js';

const NS_PING = 'urn:xmpp:ping';
const NS_VERSION = 'jabber:iq:version';
const PING = `<ping xmlns='${NS_PING}'/>`;

const packageVersion = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

describe.each(BACKENDS)('XEP-0199 ping and XEP-0092 software version (%s backend)', (backend) => {
  const fixture = useTestServer({ backend });
  const user = fixture.user;


  describe('ping', () => {
    it('answers a ping to the server with an empty result from the domain', async () => {
      const alice = await fixture.server.login(await user('alice'), 'desk');
      const reply = await alice.iq('get', PING, 'localhost');
      expect(xml`<iq type='result' from='localhost' to='${alice.jid}'/>`(reply)).toBe(true);
      expect(reply.children).toEqual([]);
    });

    it('answers a ping to the own account, with or without a to', async () => {
      const alice = await user('alice');
      const desk = await fixture.server.login(alice, 'desk');
      const implicit = await desk.iq('get', PING);
      expect(implicit.attrs.type).toBe('result');
      expect(implicit.children).toEqual([]);
      const explicit = await desk.iq('get', PING, `${alice}@localhost`);
      expect(explicit.attrs.type).toBe('result');
    });

    it("answers a ping to another account on its behalf, without involving the account's resources", async () => {
      const alice = await fixture.server.login(await user('alice'), 'desk');
      const bob = await user('bob');
      const bobby = await fixture.server.login(bob, 'home');
      const reply = await alice.iq('get', PING, `${bob}@localhost`);
      expect(xml`<iq type='result' from='${bob}@localhost'/>`(reply)).toBe(true);
      expect(reply.children).toEqual([]);
      await bobby.barrier();
      expect(bobby.inbox.filter((element) => element.name === 'iq')).toEqual([]);
    });

    it('refuses a ping to an account that does not exist with service-unavailable', async () => {
      const alice = await fixture.server.login(await user('alice'), 'desk');
      const reply = await alice.iq('get', PING, 'nobody@localhost');
      expect(reply.attrs.type).toBe('error');
      expect(condition(reply)).toBe('service-unavailable');
    });

    it('refuses a ping of type set with service-unavailable', async () => {
      const alice = await fixture.server.login(await user('alice'), 'desk');
      const reply = await alice.iq('set', PING, 'localhost');
      expect(condition(reply)).toBe('service-unavailable');
    });

    it('delivers a ping to a full JID to that resource, which answers itself', async () => {
      const alice = await fixture.server.login(await user('alice'), 'desk');
      const bob = await user('bob');
      const bobby = await fixture.server.login(bob, 'home');
      alice.send(`<iq type='get' id='fp1' to='${bob}@localhost/home'>${PING}</iq>`);
      const ping = await bobby.expect(xml`<iq type='get' id='fp1' from='${alice.jid}'><ping xmlns='${NS_PING}'/></iq>`);
      bobby.send(`<iq type='result' id='fp1' to='${ping.attrs.from}'/>`);
      await alice.expect(xml`<iq type='result' id='fp1' from='${bob}@localhost/home'/>`);
    });
  });

  describe('software version', () => {
    it('reports the name Rookery and the version from package.json, and no operating system', async () => {
      const alice = await fixture.server.login(await user('alice'), 'desk');
      const reply = await alice.iq('get', `<query xmlns='${NS_VERSION}'/>`, 'localhost');
      expect(xml`<iq type='result' from='localhost'><query xmlns='${NS_VERSION}'><name>Rookery</name><version>${packageVersion}</version></query></iq>`(reply)).toBe(true);
      expect(reply.getChild('query')?.getChild('os')).toBeUndefined();
    });

    it("does not answer a version request for an account (only a resource's client knows)", async () => {
      const alice = await fixture.server.login(await user('alice'), 'desk');
      const bob = await user('bob');
      const reply = await alice.iq('get', `<query xmlns='${NS_VERSION}'/>`, `${bob}@localhost`);
      expect(condition(reply)).toBe('service-unavailable');
    });
  });

  it('advertises both features in the server disco#info', async () => {
    const alice = await fixture.server.login(await user('alice'), 'desk');
    const info = await alice.iq('get', "<query xmlns='http://jabber.org/protocol/disco#info'/>", 'localhost');
    const features = info.getChild('query')?.getChildren('feature').map((feature) => feature.attrs.var);
    expect(features).toEqual(expect.arrayContaining([NS_PING, NS_VERSION]));
  });
});
