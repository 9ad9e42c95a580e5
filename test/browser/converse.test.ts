// A real web client in a real browser: Converse.js in headless Chromium (Debian's `chromium`,
// driven by playwright-core) logs in over WebSocket (RFC 7395) to node A of a two-node cluster
// of real node processes, chats with an @xmpp/client user connected over TCP to node B, and
// survives a graceful restart of node A by resuming its stream (XEP-0198) on the restarted
// node: nothing sent to it before, during or after the restart is lost. A screenshot of the
// chat is kept in .tmp/reports/.
import { existsSync, mkdirSync } from 'node:fs';
import { client, type Client, xml } from '@xmpp/client';
import type { Element } from 'ltx';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLUSTER_PASSWORD, startCluster, type TestCluster } from '../support/cluster.js';
import { type Balancer, holdUntilReady, serveConverse, type WebPage } from '../support/web-page.js';

const CHROMIUM = '/usr/bin/chromium';
const REPORTS = '.tmp/reports';
const DOMAIN = 'localhost';

// The nodes' certificate is self-signed (STARTTLS of the TCP user).
process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';

describe.skipIf(!existsSync(CHROMIUM))('Converse.js in Chromium over WebSocket, on a cluster', () => {
  let page: WebPage;
  let balancer: Balancer;
  let cluster: TestCluster;
  let browser: Browser | undefined;
  let bob: Client | undefined;
  const received: Element[] = [];
  const arrivals = new Set<(stanza: Element) => void>();

  beforeAll(async () => {
    page = await serveConverse();
    cluster = await startCluster({ nodes: 2, env: { ROOKERY_WEB_ORIGINS: page.origin } });
    // Where an ingress would stand: the browser's one WebSocket URL, always to node A.
    balancer = await holdUntilReady(() => cluster.node(0).httpPort);
    await cluster.createUser('web');
    await cluster.createUser('bob');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  }, 60_000);
  afterAll(async () => {
    await bob?.stop().catch(() => undefined);
    await browser?.close();
    await balancer?.close();
    await cluster?.stopAll();
    await page?.close();
  });

  function bobReceives(body: string, timeoutMs = 15_000): Promise<Element> {
    const found = received.find((stanza) => stanza.getChildText('body') === body);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`bob did not receive "${body}" in ${timeoutMs} ms`)), timeoutMs);
      const listener = (stanza: Element): void => {
        if (stanza.getChildText('body') !== body) return;
        clearTimeout(timer);
        arrivals.delete(listener);
        resolve(stanza);
      };
      arrivals.add(listener);
    });
  }

  async function shown(tab: Page, body: string): Promise<void> {
    await tab.locator('.chat-msg__text', { hasText: body }).first().waitFor({ state: 'visible', timeout: 20_000 });
  }

  async function type(tab: Page, body: string): Promise<void> {
    const input = tab.locator('.chat-textarea').first();
    await input.fill(body);
    await input.press('Enter');
  }

  it('logs in, chats both ways with a TCP user on the other node, and loses nothing across a restart of its node', async () => {
    bob = client({ service: `xmpp://127.0.0.1:${cluster.node(1).c2sPort}`, domain: DOMAIN, username: 'bob', password: CLUSTER_PASSWORD, resource: 'tcp' });
    bob.on('error', () => undefined);
    bob.on('stanza', (stanza: Element) => {
      if (stanza.name !== 'message' || stanza.getChildText('body') === null) return;
      received.push(stanza);
      for (const listener of [...arrivals]) listener(stanza);
    });
    await bob.start();
    await bob.send(xml('presence'));
    const bobJid = `bob@${DOMAIN}`;
    const webJid = `web@${DOMAIN}`;

    const tab = await browser!.newPage({ viewport: { width: 1200, height: 800 } });
    const console: string[] = [];
    tab.on('console', (message) => console.push(message.text()));
    // Converse.js shows sponsors' logos from its website: no network beyond loopback in tests.
    await tab.route(/^https?:\/\/(?!127\.0\.0\.1[:/])/, (route) => route.abort());
    try {
      await tab.goto(
        page.url({
          websocket_url: `ws://127.0.0.1:${balancer.port}/xmpp-websocket`,
          discover_connection_methods: false,
          authentication: 'login',
          auto_login: true,
          jid: `${webJid}/browser`,
          password: CLUSTER_PASSWORD,
          enable_smacks: true,
          auto_reconnect: true,
          view_mode: 'fullscreen',
          allow_non_roster_messaging: true,
          play_sounds: false,
          show_desktop_notifications: false,
          loglevel: 'info',
        }),
      );
      // Logged in and stream management enabled (the server answered <enabled resume='true'/>).
      await tab.waitForFunction(() => {
        const w = window as unknown as { rookery?: { converse: { session?: { get(key: string): unknown } } } };
        return w.rookery?.converse.session?.get('smacks_enabled') === true;
      }, undefined, { timeout: 20_000 });
      await tab.evaluate((jid) => (window as unknown as { rookery: { api: { chats: { open(jid: string): Promise<unknown> } } } }).rookery.api.chats.open(jid), bobJid);

      await type(tab, 'hello from the browser');
      const first = await bobReceives('hello from the browser');
      expect(first.attrs.from).toMatch(new RegExp(`^${webJid}/`));
      await bob.send(xml('message', { to: webJid, type: 'chat', id: 'b1' }, xml('body', {}, 'hello from TCP')));
      await shown(tab, 'hello from TCP');

      // Graceful restart of node A: the browser's stream is parked, and messages keep coming
      // while it drains, while it is down and while it starts again.
      const stopping = cluster.stop(0);
      await bob.send(xml('message', { to: webJid, type: 'chat', id: 'b2' }, xml('body', {}, 'sent while node A drains')));
      await stopping;
      await bob.send(xml('message', { to: webJid, type: 'chat', id: 'b3' }, xml('body', {}, 'sent while node A is down')));
      await cluster.start(0);
      await bob.send(xml('message', { to: webJid, type: 'chat', id: 'b4' }, xml('body', {}, 'sent after node A restarted')));

      for (const body of ['sent while node A drains', 'sent while node A is down', 'sent after node A restarted']) await shown(tab, body);
      // Resumed (XEP-0198 <resumed/>), not a new session: the restarted node logged the resumption.
      expect(cluster.node(0).output()).toMatch(/"event":"sm_resumed"/);
      expect(balancer.forwarded).toBeGreaterThanOrEqual(2);

      await type(tab, 'back after the restart');
      await bobReceives('back after the restart');
      // Each message shown once, in the order sent: nothing lost, nothing duplicated by the
      // resumption, and the redelivered ones (stamped with XEP-0203 <delay/>) not put first.
      const expected = ['hello from the browser', 'hello from TCP', 'sent while node A drains', 'sent while node A is down', 'sent after node A restarted', 'back after the restart'];
      for (const body of expected) expect(await tab.locator('.chat-msg__text', { hasText: body }).count()).toBe(1);
      const texts = (await tab.locator('.chat-msg__text').allInnerTexts()).map((text) => text.trim());
      expect(texts.filter((text) => expected.includes(text))).toEqual(expected);
      mkdirSync(REPORTS, { recursive: true });
      await tab.screenshot({ path: `${REPORTS}/converse-chat.png` });
    } catch (error) {
      mkdirSync(REPORTS, { recursive: true });
      await tab.screenshot({ path: `${REPORTS}/converse-chat-failed.png` }).catch(() => undefined);
      throw new Error(`${(error as Error).message}\n--- browser console\n${console.slice(-60).join('\n')}\n--- nodes\n${cluster.output().slice(-6000)}`);
    } finally {
      await tab.close();
    }
  }, 60_000);
});
