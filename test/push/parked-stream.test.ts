// A push (XEP-0357) for a message that reaches a parked stream (XEP-0198: a resumable session
// whose node drained or died, kept by no node), on real node processes sharing one Redis. The
// phone is asleep: stream-managed, inactive (XEP-0352), push enabled; its node goes away and it
// does not reconnect. A contact on another node writes to it; the app server (a component of the
// test's own, XEP-0114, on that other node) gets one notification; the phone, woken, resumes on
// the other node and gets the message once. Also for a message written to the phone before its
// node drained that it never acknowledged (its app was frozen).
import type { Element } from 'ltx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PARKED_NODE } from '../../src/state/sessions.js';
import { NS_CSI } from '../../src/xmpp/ns.js';
import type { RawClient } from '../support/client.js';
import { CLUSTER_PASSWORD, DEAD_AFTER_MS, eventually, startCluster, type TestCluster } from '../support/cluster.js';
import { NS_PUBSUB, summaryOf, TestComponent } from '../support/component.js';
import { SmClient } from '../support/sm-client.js';

const APP = 'push.localhost';
const SECRET = 'app-server-secret';
const NS_PUSH = 'urn:xmpp:push:0';
/** The node the contact and the app server are on; the phones are on the others. */
const STAYS = 1;

describe('a push for a message to a parked stream, with real node processes', () => {
  let cluster: TestCluster;
  let app: TestComponent;
  let bob: RawClient;

  beforeAll(async () => {
    cluster = await startCluster({ nodes: 3, components: true, env: { ROOKERY_COMPONENTS: `${APP}=${SECRET}`, ROOKERY_DRAIN_TIMEOUT_SECONDS: '5' } });
    app = await TestComponent.connect(cluster.node(STAYS).componentPort, APP, SECRET);
    await cluster.createUser('bob');
    bob = await cluster.login(STAYS, 'bob', 'desk');
  }, 60_000);
  afterAll(async () => {
    await app?.close().catch(() => app.raw.destroy());
    await cluster?.stopAll();
  });

  /** A phone on node `index`: stream-managed, available, push enabled with the body, inactive. */
  async function phone(index: number, local: string): Promise<SmClient> {
    await cluster.createUser(local);
    const client = await SmClient.login({ port: cluster.node(index).c2sPort, domain: cluster.domain, username: local, password: CLUSTER_PASSWORD, resource: 'phone', plaintext: true });
    client.send(
      `<iq type='set' id='enable-push'><enable xmlns='${NS_PUSH}' jid='${APP}' node='${local}-phone'><x xmlns='jabber:x:data' type='submit'>` +
        `<field var='FORM_TYPE'><value>http://jabber.org/protocol/pubsub#publish-options</value></field>` +
        `<field var='include-body'><value>1</value></field></x></enable></iq>`,
    );
    expect((await client.raw?.expect((element) => element.attrs.id === 'enable-push'))?.attrs.type).toBe('result');
    client.send('<presence/>');
    await client.raw?.expect((element) => element.name === 'presence' && element.attrs.from === client.jid);
    client.raw?.send(`<inactive xmlns='${NS_CSI}'/>`);
    await client.barrier();
    return client;
  }

  /** The stream of `jid` is parked: its registry record names no node (PARKED_NODE). */
  async function parked(jid: string): Promise<boolean> {
    const record = (await cluster.sessions()).find((session) => session.full_jid === jid);
    return record !== undefined && record.sm_token !== undefined && record.node === PARKED_NODE;
  }

  /** Resumes on the node that stays and returns every copy of message `id` the phone got, on either connection. */
  async function resumeAndCount(client: SmClient, first: RawClient, id: string): Promise<Element[]> {
    expect(await client.resume(cluster.node(STAYS).c2sPort)).toBe(true);
    await client.raw?.expect((element) => element.attrs.id === id);
    await client.barrier();
    return [...first.log, ...(client.raw?.log ?? [])].filter((element) => element.name === 'message' && element.attrs.id === id);
  }

  function publishes(): Element[] {
    return app.raw.take((element) => element.getChild('pubsub', NS_PUBSUB) !== undefined);
  }

  it('notifies once for a message to a stream its draining node parked, and the phone resuming on another node gets it once', async () => {
    const alice = await phone(0, 'alice');
    const first = alice.raw as RawClient;
    await cluster.stop(0);
    await eventually('the stream is parked', () => parked(alice.jid as string));
    bob.send(`<message to='${alice.jid}' type='chat' id='after-drain'><body>wake up, alice</body></message>`);
    const publish = await app.publish(10_000);
    expect(summaryOf(publish)['last-message-body']).toBe('wake up, alice');
    expect(summaryOf(publish)['last-message-sender']).toBe(bob.jid);
    app.result(publish);
    expect(await resumeAndCount(alice, first, 'after-drain')).toHaveLength(1);
    await app.barrier(cluster.domain);
    expect(publishes()).toEqual([]);
    alice.raw?.destroy();
  });

  it('notifies once for a message left in the inbox of a node that died, which the sweep moves to the parked stream, and the phone gets it once', async () => {
    const carol = await phone(2, 'carol');
    const first = carol.raw as RawClient;
    await cluster.kill(2, 'SIGKILL');
    // Sent before the cluster knows the node is dead: it waits in the dead node's inbox.
    bob.send(`<message to='${carol.jid}' type='chat' id='after-death'><body>wake up, carol</body></message>`);
    await bob.barrier();
    const publish = await app.publish(DEAD_AFTER_MS + 10_000);
    expect(summaryOf(publish)['last-message-body']).toBe('wake up, carol');
    app.result(publish);
    expect(await parked(carol.jid as string)).toBe(true);
    expect(await resumeAndCount(carol, first, 'after-death')).toHaveLength(1);
    await app.barrier(cluster.domain);
    expect(publishes()).toEqual([]);
    carol.raw?.destroy();
  });

  it('notifies once for a message written to a frozen phone that never acknowledged it when its node drains, and the resumed phone gets it', async () => {
    if (!cluster.node(0).running) await cluster.start(0);
    const dave = await phone(0, 'dave');
    // The phone froze the app: its socket still takes what is written, nothing is read or acknowledged.
    dave.answerRequests = false;
    const h = dave.inbound;
    bob.send(`<message to='${dave.jid}' type='chat' id='before-drain'><body>wake up, dave</body></message>`);
    await dave.raw?.expect((element) => element.attrs.id === 'before-drain');
    await cluster.stop(0);
    const publish = await app.publish(10_000);
    expect(summaryOf(publish)['last-message-body']).toBe('wake up, dave');
    app.result(publish);
    expect(await parked(dave.jid as string)).toBe(true);
    // Woken, the app resumes with the count it really handled.
    dave.inbound = h;
    dave.answerRequests = true;
    expect(await dave.resume(cluster.node(STAYS).c2sPort)).toBe(true);
    await dave.raw?.expect((element) => element.attrs.id === 'before-drain');
    await dave.barrier();
    expect(dave.raw?.log.filter((element) => element.name === 'message' && element.attrs.id === 'before-drain')).toHaveLength(1);
    await app.barrier(cluster.domain);
    expect(publishes()).toEqual([]);
    dave.raw?.destroy();
  });
});
