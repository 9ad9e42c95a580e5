// RFC 7395 §3.6.1 see-other-uri: a draining node sends each WebSocket client to the public
// WebSocket URL (httpPublicUrl, the load balancer), in its <close/>, so that a browser connected
// to the node directly reconnects through the balancer, which no longer picks the draining node.
// A stream-managed client resumes there (XEP-0198) with nothing lost; one without stream
// management is told <system-shutdown/> first. Two nodes of one cluster behind a balancer that
// asks /readyz, as a Kubernetes Service does.
import { randomBytes } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { client as xmppClient, type Client, xml } from '@xmpp/client';
import type { Element } from 'ltx';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import { type Config, defaultConfig } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { type RunningNode, startNode } from '../../src/main.js';
import { deriveCredentials } from '../../src/sasl/credentials.js';
import { type Balancer, startBalancer } from '../support/balancer.js';
import { NS_SM } from '../support/sm-client.js';
import { NS_FRAMING, WsClient } from '../support/ws-client.js';

const PASSWORD = 'correct horse battery staple';
const DOMAIN = 'localhost';
const STANZAS = new Set(['message', 'presence', 'iq']);

describe('a draining node sends its WebSocket clients to the public URL (see-other-uri)', () => {
  let balancer: Balancer;
  let nodes: RunningNode[] = [];
  let publicUrl: string;
  const sockets: WsClient[] = [];

  beforeEach(async () => {
    balancer = await startBalancer();
    publicUrl = `ws://127.0.0.1:${balancer.port}/xmpp-websocket`;
    const config: Config = {
      ...defaultConfig(),
      domain: DOMAIN,
      bindAddress: '127.0.0.1',
      c2sPort: 0,
      c2sTlsPort: 0,
      s2sPort: 0,
      httpPort: 0,
      httpPublicUrl: `http://127.0.0.1:${balancer.port}`,
      redisUrl: inject('redisUrl'),
      redisPrefix: `tso${randomBytes(4).toString('hex')}`,
      drainTimeoutSeconds: 5,
    };
    for (const name of ['a', 'b']) nodes.push(await startNode({ ...config, nodeId: `see-other-${name}-${randomBytes(3).toString('hex')}` }, silentLogger()));
    balancer.backends = nodes.map((node) => node.httpPort);
  });
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.terminate();
    for (const node of nodes.reverse()) await node.stop();
    nodes = [];
    await balancer.close();
  });

  const direct = (index: number) => `ws://127.0.0.1:${nodes[index]?.httpPort}/xmpp-websocket`;

  async function user(local: string): Promise<void> {
    await nodes[0]?.state.accounts.create(`${local}@${DOMAIN}`, await deriveCredentials(PASSWORD, 4096));
  }

  async function connect(url: string): Promise<WsClient> {
    const socket = await WsClient.connect(url, DOMAIN);
    sockets.push(socket);
    return socket;
  }

  /** The other node's client sends `body` to `to`, and sees it accepted (a receipt-less ping round trip). */
  async function send(from: WsClient, to: string, body: string): Promise<void> {
    from.send(`<message xmlns='jabber:client' to='${to}' type='chat' id='${body}'><body>${body}</body></message>`);
    from.send(`<iq xmlns='jabber:client' type='get' id='p-${body}'><ping xmlns='urn:xmpp:ping'/></iq>`);
    await from.expect((element) => element.name === 'iq' && element.attrs.id === `p-${body}`);
  }

  it('a stream-managed stream gets <close see-other-uri/> (no stream error) and close code 1000; the client that follows it reaches the other node and resumes with nothing lost', async () => {
    await Promise.all([user('web'), user('bob')]);
    const web = await connect(direct(0));
    const webJid = await web.login('web', PASSWORD, 'browser');
    web.send(`<enable xmlns='${NS_SM}' resume='true'/>`);
    const smId = String((await web.expect('enabled')).attrs.id);
    const bob = await connect(direct(1));
    await bob.login('bob', PASSWORD, 'desk');
    await send(bob, webJid, 'before');
    await web.expect((element) => element.name === 'message' && element.getChildText('body') === 'before');

    const draining = nodes[0]?.drain();
    const close = await web.expect('close');
    expect(close.attrs).toEqual({ xmlns: NS_FRAMING, 'see-other-uri': publicUrl });
    expect((await web.closed()).code).toBe(1000);
    expect(web.inbox.filter((element) => element.name === 'stream:error')).toEqual([]);
    // Sent while the stream is handed over: it waits for the resumption.
    await send(bob, webJid, 'during');
    await draining;

    // What the client received on the old stream: 'before' plus whatever else came before <close/>.
    const handled = 1 + web.inbox.filter((element) => STANZAS.has(element.name)).length;
    const again = await connect(String(close.attrs['see-other-uri']));
    expect(balancer.routed.at(-1)).toBe(nodes[1]?.httpPort);
    await again.authenticate('web', PASSWORD);
    again.send(`<resume xmlns='${NS_SM}' previd='${smId}' h='${handled}'/>`);
    const resumed = await again.expect((element) => element.name === 'resumed' || element.name === 'failed');
    expect(resumed.name).toBe('resumed');
    expect(resumed.attrs.previd).toBe(smId);
    const during = await again.expect((element) => element.name === 'message' && element.getChildText('body') === 'during');
    expect(during.attrs.from).toBe(`bob@${DOMAIN}/desk`);
  });

  it('a stream without stream management gets <system-shutdown/>, then <close see-other-uri/>', async () => {
    await user('plain');
    const web = await connect(direct(0));
    await web.login('plain', PASSWORD, 'browser');
    const draining = nodes[0]?.drain();
    const error = await web.expect('stream:error');
    expect(error.getChild('system-shutdown')).toBeDefined();
    expect((await web.expect('close')).attrs).toEqual({ xmlns: NS_FRAMING, 'see-other-uri': publicUrl });
    expect((await web.closed()).code).toBe(1000);
    await draining;
  });

  it('@xmpp/client connected to the node directly follows the redirect to the balancer and resumes its stream on the other node', async () => {
    await Promise.all([user('lib'), user('peer')]);
    const globals = globalThis as { WebSocket?: unknown };
    const nativeWebSocket = globals.WebSocket;
    // Node 20 has no WebSocket; @xmpp/websocket uses the global one.
    globals.WebSocket = WebSocket;
    const entity = xmppClient({ service: direct(0), domain: DOMAIN, username: 'lib', password: PASSWORD, resource: 'tab' });
    const redirects: string[] = [];
    followSeeOtherUri(entity, redirects);
    const received: Element[] = [];
    entity.on('stanza', (stanza: Element) => received.push(stanza));
    const resumed = new Promise<void>((resolve) => entity.streamManagement.once('resumed', () => resolve()));
    try {
      await entity.start();
      await until(() => entity.streamManagement.enabled && entity.streamManagement.id !== '', 'stream management enabled');
      const smId = entity.streamManagement.id;
      const libJid = String(entity.jid);
      const peer = await connect(direct(1));
      await peer.login('peer', PASSWORD, 'desk');

      const draining = nodes[0]?.drain();
      await until(() => redirects.length > 0, 'the <close see-other-uri/>');
      await send(peer, libJid, 'while the node drains');
      await draining;
      await resumed;
      expect(redirects).toEqual([publicUrl]);
      expect(balancer.routed.at(-1)).toBe(nodes[1]?.httpPort);
      expect(entity.streamManagement.id).toBe(smId);
      await until(() => received.some((stanza) => stanza.name === 'message' && stanza.getChildText('body') === 'while the node drains'), 'the message sent during the drain');
      // The stream goes on where it resumed: a round trip through the other node.
      await entity.send(xml('message', { to: `peer@${DOMAIN}/desk`, type: 'chat', id: 'back' }, xml('body', {}, 'back again')));
      expect((await peer.expect((element) => element.name === 'message' && element.attrs.id === 'back')).attrs.from).toBe(libJid);
    } finally {
      await entity.stop().catch(() => undefined);
      globals.WebSocket = nativeWebSocket;
    }
  });
});

/**
 * What a client that honours RFC 7395 §3.6.1 does (xmpp.js 0.14 does not yet): on a <close/>
 * with see-other-uri, the next connection goes there. xmpp.js's reconnect module then opens it
 * and its stream management resumes.
 */
function followSeeOtherUri(entity: Client, redirects: string[]): void {
  const withParser = entity as Client & { parser: EventEmitter | null };
  entity.on('status', (status: string) => {
    if (status !== 'open') return;
    withParser.parser?.once('end', (close: Element | undefined) => {
      const uri = close?.attrs['see-other-uri'];
      if (typeof uri !== 'string' || !/^wss?:\/\//.test(uri)) return;
      redirects.push(uri);
      entity.options.service = uri;
    });
  });
}

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
