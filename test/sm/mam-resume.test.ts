// XEP-0313 with XEP-0198 across real node processes sharing Redis: a client that resumes on
// another node and sends a message again (its ack was lost) leaves one entry in each archive,
// and the recipient gets the copy again with the same stanza-id.
import type { Element } from 'ltx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { xml } from '../support/client.js';
import { CLUSTER_PASSWORD, startCluster, type TestCluster } from '../support/cluster.js';
import { SmClient } from '../support/sm-client.js';

const NS_SID = 'urn:xmpp:sid:0';

describe('message archive across a stream-management resume on another node', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await startCluster({ nodes: 2 });
  });
  afterAll(() => cluster?.stopAll());

  it('archives a message re-sent after resuming on another node once, with the same stanza-id on both copies', async () => {
    await cluster.createUser('ann');
    await cluster.createUser('ben');
    const ann = `ann@${cluster.domain}`;
    const ben = `ben@${cluster.domain}`;
    const bob = await cluster.login(1, 'ben', 'desk');
    bob.send('<presence/>');
    await bob.expect(xml`<presence from='${bob.jid}'/>`);
    const alice = await SmClient.login({ port: cluster.node(0).c2sPort, username: 'ann', password: CLUSTER_PASSWORD, resource: 'phone', plaintext: true });
    const stanza = `<message to='${ben}' type='chat' id='once'><body>only once</body><origin-id xmlns='${NS_SID}' id='origin-1'/></message>`;
    alice.send(stanza);
    const first = await bob.expect(xml`<message id='once'/>`);
    alice.drop();
    await expect(alice.resume(cluster.node(1).c2sPort)).resolves.toBe(true);
    // Its ack was lost as far as the client knows: it sends the message again, now through node 1.
    alice.send(stanza);
    const again = await bob.expect(xml`<message id='once'/>`);
    const idBy = (message: Element): string | undefined => message.getChildren('stanza-id', NS_SID).find((id) => id.attrs.by === ben)?.attrs.id as string | undefined;
    expect(idBy(first)).toMatch(/^\d+-\d+$/);
    expect(idBy(again)).toBe(idBy(first));
    const [bens, anns] = await Promise.all([cluster.state.archive.query(ben, { max: 10 }), cluster.state.archive.query(ann, { max: 10 })]);
    expect(bens?.entries.map((entry) => entry.id)).toStrictEqual([idBy(first)]);
    expect(anns?.entries).toHaveLength(1);
  });

  it('archives each message once and delivers it once when the recipient\'s node is killed with kill -9 mid-delivery', async () => {
    await cluster.createUser('cid');
    await cluster.createUser('dee');
    const dee = `dee@${cluster.domain}`;
    const sender = await SmClient.login({ port: cluster.node(0).c2sPort, username: 'cid', password: CLUSTER_PASSWORD, resource: 'phone', plaintext: true });
    const recipient = await SmClient.login({ port: cluster.node(1).c2sPort, username: 'dee', password: CLUSTER_PASSWORD, resource: 'tablet', plaintext: true, keep: false, onStanza: (stanza) => {
      if (stanza.name === 'message' && String(stanza.attrs.id ?? '').startsWith('burst')) got.push(String(stanza.attrs.id));
    } });
    const got: string[] = [];
    const ids = Array.from({ length: 40 }, (_, i) => `burst${i}`);
    // Half before the kill, half while the recipient's node is gone: some are on their way through it.
    for (const id of ids.slice(0, 20)) sender.send(`<message to='${recipient.jid}' type='chat' id='${id}'><body>${id}</body></message>`);
    await cluster.kill(1, 'SIGKILL');
    recipient.drop();
    for (const id of ids.slice(20)) sender.send(`<message to='${recipient.jid}' type='chat' id='${id}'><body>${id}</body></message>`);
    await sender.ack();
    await cluster.start(1);
    await expect(recipient.resume(cluster.node(0).c2sPort)).resolves.toBe(true);
    await recipient.barrier();
    const deadline = Date.now() + 10_000;
    while (new Set(got).size < ids.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    await recipient.barrier();
    expect([...got].sort()).toStrictEqual([...ids].sort());
    const archive = await cluster.state.archive.query(dee, { max: 100 });
    const archived = (archive?.entries ?? []).map((entry) => /id=["'](burst\d+)["']/.exec(entry.xml)?.[1]).filter((id) => id !== undefined);
    expect(archived.sort()).toStrictEqual([...ids].sort());
  });
});
