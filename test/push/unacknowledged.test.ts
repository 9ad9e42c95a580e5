// Push notifications (XEP-0357) for messages written to a stream-managed client (XEP-0198) that
// never acknowledged them, as Prosody's mod_cloud_notify does with mod_smacks: when the ack is
// overdue (smacks-ack-delayed: an inactive phone whose connection died unnoticed, or whose app
// the phone froze while its socket still reads), and when the connection is lost
// (smacks-hibernation-start). The client is stream-managed and inactive (XEP-0352), so what it
// is sent is a message client state indication writes at once. The app server is a component
// of the test's own on the node the client is not on.
import type { Element } from 'ltx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../src/config/schema.js';
import type { RookeryServer } from '../../src/server.js';
import { NS_CSI } from '../../src/xmpp/ns.js';
import type { RawClient } from '../support/client.js';
import { NS_PUBSUB, summaryOf, TestComponent } from '../support/component.js';
import { BACKENDS, PASSWORD, startTestServer, type TestServer } from '../support/server.js';
import { SmClient } from '../support/sm-client.js';

const APP = 'push.localhost';
const SECRET = 'app-server-secret';
const NS_PUSH = 'urn:xmpp:push:0';
const ACK_DELAY_SECONDS = 1;

/** Polls `check` until it holds; fails after `timeoutMs`. */
async function until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

interface Parties {
  alice: SmClient;
  bob: RawClient;
  app: TestComponent;
}

/** alice: stream-managed, available, push enabled (with the body), inactive; bob online; the app server on the other node. */
async function parties(server: TestServer, n: number): Promise<Parties> {
  const [a, b] = [`alice${n}`, `bob${n}`];
  await server.createUser(a);
  await server.createUser(b);
  const domain = server.config.domain;
  const aliceNode = server.placeLogin(a);
  const alice = await SmClient.login({ port: aliceNode.ports().c2s, domain, username: a, password: PASSWORD, resource: 'phone' });
  const appNode: RookeryServer = server.nodes.find((node) => node !== aliceNode) ?? server.server;
  const app = await TestComponent.connect(appNode.components?.port ?? 0, APP, SECRET);
  alice.send(
    `<iq type='set' id='enable-push'><enable xmlns='${NS_PUSH}' jid='${APP}' node='phone-${n}'><x xmlns='jabber:x:data' type='submit'>` +
      `<field var='FORM_TYPE'><value>http://jabber.org/protocol/pubsub#publish-options</value></field>` +
      `<field var='include-body'><value>1</value></field></x></enable></iq>`,
  );
  expect((await alice.raw?.expect((element) => element.attrs.id === 'enable-push'))?.attrs.type).toBe('result');
  alice.send('<presence/>');
  await alice.raw?.expect((element) => element.name === 'presence' && element.attrs.from === alice.jid);
  alice.raw?.send(`<inactive xmlns='${NS_CSI}'/>`);
  await alice.barrier();
  const bob = await server.login(b, 'desk');
  return { alice, bob, app };
}

/** Stanzas towards `jid` its client has not acknowledged (the server's XEP-0198 queue), on whichever node holds it. */
function unacknowledged(server: TestServer, jid: string): number {
  for (const node of server.nodes) {
    const session = [...node.host.local.all()].find((candidate) => candidate.full_jid === jid);
    if (session?.sm) return (session.sm as unknown as { queue: unknown[] }).queue.length;
  }
  return -1;
}

function publishes(app: TestComponent): Element[] {
  return app.raw.take((element) => element.getChild('pubsub', NS_PUBSUB) !== undefined);
}

describe.each(BACKENDS)('a push for what an inactive client does not acknowledge in time (%s)', (backend) => {
  let server: TestServer;
  let n = 0;

  beforeAll(async () => {
    server = await startTestServer({ backend, config: { componentPort: 0, components: `${APP}=${SECRET}`, limits: { ...DEFAULT_LIMITS, pushReplySeconds: 1, smAckDelaySeconds: ACK_DELAY_SECONDS } } });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it(`is sent once ${ACK_DELAY_SECONDS} s (smAckDelaySeconds) pass without an ack of a message written to it`, async () => {
    const { alice, bob, app } = await parties(server, ++n);
    alice.answerRequests = false;
    bob.send(`<message to='${alice.jid}' type='chat' id='frozen'><body>are you there?</body></message>`);
    // Written at once (a body), then asked for: the app that would answer is frozen.
    await alice.raw?.expect((element) => element.attrs.id === 'frozen');
    await until('the server asked for an ack', () => alice.requestsIgnored > 0);
    const publish = await app.publish(ACK_DELAY_SECONDS * 1000 + 5000);
    expect(summaryOf(publish)['last-message-body']).toBe('are you there?');
    expect(summaryOf(publish)['last-message-sender']).toBe(bob.jid);
    app.result(publish);
    await app.barrier(server.config.domain);
    expect(publishes(app)).toEqual([]);
    alice.raw?.destroy();
    bob.destroy();
    await app.close();
  });

  it('is not sent for a message the client acknowledges in time', async () => {
    const { alice, bob, app } = await parties(server, ++n);
    bob.send(`<message to='${alice.jid}' type='chat' id='answered'><body>still there?</body></message>`);
    await alice.raw?.expect((element) => element.attrs.id === 'answered');
    await until('alice acknowledged it', () => unacknowledged(server, alice.jid as string) === 0);
    // Absence shows only over a window: the ack delay and as much again.
    await new Promise((resolve) => setTimeout(resolve, 2 * ACK_DELAY_SECONDS * 1000));
    await app.barrier(server.config.domain);
    expect(publishes(app)).toEqual([]);
    alice.raw?.destroy();
    bob.destroy();
    await app.close();
  });
});

describe.each(BACKENDS)('a push for what a client never acknowledged when its connection is lost (%s)', (backend) => {
  let server: TestServer;
  let n = 100;

  beforeAll(async () => {
    // The default ack delay (30 s): only the loss of the connection can bring the push in time.
    server = await startTestServer({ backend, config: { componentPort: 0, components: `${APP}=${SECRET}`, limits: { ...DEFAULT_LIMITS, pushReplySeconds: 1 } } });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('is sent when the stream hibernates with the message unacknowledged, and the resumed client gets it', async () => {
    const { alice, bob, app } = await parties(server, ++n);
    alice.answerRequests = false;
    bob.send(`<message to='${alice.jid}' type='chat' id='lost'><body>before the tunnel</body></message>`);
    // Written while the stream is attached; the connection dies before the phone read it: its h stays where it was.
    const h = alice.inbound;
    await alice.raw?.expect((element) => element.attrs.id === 'lost');
    alice.raw?.destroy();
    const publish = await app.publish();
    expect(summaryOf(publish)['last-message-body']).toBe('before the tunnel');
    app.result(publish);
    alice.inbound = h;
    alice.answerRequests = true;
    expect(await alice.resume()).toBe(true);
    const again = await alice.raw?.expect((element) => element.attrs.id === 'lost');
    expect(again?.getChildText('body')).toBe('before the tunnel');
    await app.barrier(server.config.domain);
    expect(publishes(app)).toEqual([]);
    alice.raw?.destroy();
    bob.destroy();
    await app.close();
  });
});
