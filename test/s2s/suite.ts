// The federation tests every peer (Prosody, ejabberd) runs: a client on each server, talking over
// server-to-server streams with TLS and dialback.
import { expect, it } from 'vitest';
import type { RawClient } from '../support/client.js';
import type { TestServer } from '../support/server.js';

export interface Peer {
  domain: string;
  login(user: string, resource?: string): Promise<RawClient>;
  register(user: string): void;
  restart(): Promise<void>;
  log(): string;
}

export interface Setup {
  rookery: TestServer;
  peer: Peer;
  /** The address Rookery's clients connect to. */
  rookeryHost: string;
}

let users = 0;

export function federationSuite(setup: () => Setup): void {
  const pair = async (): Promise<{ local: RawClient; remote: RawClient; setup: Setup }> => {
    const s = setup();
    const name = `u${++users}x${process.pid}`;
    await s.rookery.createUser(name);
    s.peer.register(name);
    const local = await s.rookery.connect({ host: s.rookeryHost });
    await local.login(name, 'secret-password', 'r');
    const remote = await s.peer.login(name, 'p');
    // Available: a message to the bare JID goes to available resources only (RFC 6121 §8.5.2).
    local.send('<presence/>');
    remote.send('<presence/>');
    return { local, remote, setup: s };
  };
  const message = (to: string, body: string, id = `m${Math.random().toString(36).slice(2)}`) => `<message type='chat' to='${to}' id='${id}'><body>${body}</body></message>`;

  it('carries a message each way over TLS streams authenticated by dialback', async () => {
    const { local, remote, setup: s } = await pair();
    local.send(message(remote.bare, 'hello peer'));
    const got = await remote.expect((el) => el.name === 'message' && el.getChildText('body') === 'hello peer', 20_000);
    expect(got.attrs.from).toBe(local.jid);
    remote.send(message(local.bare, 'hello rookery'));
    const back = await local.expect((el) => el.name === 'message' && el.getChildText('body') === 'hello rookery', 20_000);
    expect(back.attrs.from).toBe(remote.jid);
    const streams = s.rookery.server.s2s?.streams() ?? [];
    expect(streams).toContainEqual({ direction: 'out', remote: s.peer.domain, ready: true, secure: true });
    expect(streams).toContainEqual({ direction: 'in', remote: s.peer.domain, ready: true, secure: true });
  }, 40_000);

  it('answers disco#info at the remote server and at a remote full JID', async () => {
    const { local, remote, setup: s } = await pair();
    const info = await local.iq('get', `<query xmlns='http://jabber.org/protocol/disco#info'/>`, s.peer.domain);
    expect(info.attrs.type).toBe('result');
    expect(info.getChild('query')?.getChildren('identity').some((identity) => identity.attrs.category === 'server')).toBe(true);
    const ping = await local.iq('get', `<ping xmlns='urn:xmpp:ping'/>`, remote.jid);
    // A client may answer or not implement ping; either way the iq came back through the peer.
    expect(['result', 'error']).toContain(ping.attrs.type);
    // And the peer's client reaches a Rookery client's full JID.
    const reverse = remote.iq('get', `<query xmlns='jabber:iq:version'/>`, local.jid);
    const asked = await local.expect((el) => el.name === 'iq' && el.attrs.type === 'get', 20_000);
    local.send(`<iq type='result' to='${asked.attrs.from}' id='${asked.attrs.id}'><query xmlns='jabber:iq:version'><name>raw</name><version>1</version></query></iq>`);
    expect((await reverse).attrs.type).toBe('result');
  }, 40_000);

  it('bounces a message for a user the remote server does not have', async () => {
    const { local, setup: s } = await pair();
    local.send(message(`nobody-${users}@${s.peer.domain}`, 'anyone?', 'lost1'));
    const error = await local.expect((el) => el.name === 'message' && el.attrs.id === 'lost1', 20_000);
    expect(error.attrs.type).toBe('error');
  }, 40_000);

  it('bounces remote-server-not-found for a domain that does not exist, within 30 s', async () => {
    const { local } = await pair();
    const started = Date.now();
    local.send(message('someone@nowhere.invalid', 'hello?', 'nowhere1'));
    const error = await local.expect((el) => el.name === 'message' && el.attrs.id === 'nowhere1', 30_000);
    expect(error.attrs.type).toBe('error');
    expect(error.getChild('error')?.getChild('remote-server-not-found')).toBeDefined();
    expect(Date.now() - started).toBeLessThan(30_000);
  }, 40_000);

  it('completes a subscription each way to both, with presence flowing', async () => {
    const { local, remote } = await pair();
    local.send(`<presence type='subscribe' to='${remote.bare}'/>`);
    await remote.expect((el) => el.name === 'presence' && el.attrs.type === 'subscribe' && el.attrs.from === local.bare, 20_000);
    remote.send(`<presence type='subscribed' to='${local.bare}'/>`);
    remote.send(`<presence type='subscribe' to='${local.bare}'/>`);
    await local.expect((el) => el.name === 'presence' && el.attrs.type === 'subscribe' && el.attrs.from === remote.bare, 20_000);
    local.send(`<presence type='subscribed' to='${remote.bare}'/>`);
    // Each side then sees the other available (the probe and the broadcast after the approval).
    await local.expect((el) => el.name === 'presence' && el.attrs.type === undefined && el.attrs.from === remote.jid, 20_000);
    await remote.expect((el) => el.name === 'presence' && el.attrs.type === undefined && el.attrs.from === local.jid, 20_000);
    const roster = await local.iq('get', `<query xmlns='jabber:iq:roster'/>`);
    const item = roster.getChild('query')?.getChildren('item').find((entry) => entry.attrs.jid === remote.bare);
    expect(item?.attrs.subscription).toBe('both');
    const theirs = await remote.iq('get', `<query xmlns='jabber:iq:roster'/>`);
    const their = theirs.getChild('query')?.getChildren('item').find((entry) => entry.attrs.jid === local.bare);
    expect(their?.attrs.subscription).toBe('both');
  }, 60_000);
}
