// What a node on the embedded store acknowledged is still there after kill -9 and a restart on
// the same data directory (src/state/durable/: WAL, synchronous=FULL).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RawClient, xml } from '../support/client.js';
import { type NodeProcess, rookery, startNodeProcess } from './node-process.js';

describe('a node on the embedded store, killed with SIGKILL and started again', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rookery-durable-'));
  const clients: RawClient[] = [];
  let node: NodeProcess | undefined;

  afterAll(async () => {
    for (const client of clients) client.destroy();
    await node?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function login(local: string, password: string): Promise<RawClient> {
    if (!node) throw new Error('no node is running');
    const client = await RawClient.connect({ port: node.c2sPort });
    clients.push(client);
    await client.login(local, password, 'desk');
    return client;
  }

  it('keeps the accounts added with rookery user add, an answered roster set and an accepted offline message', async () => {
    node = await startNodeProcess(dataDir);
    for (const [jid, password] of [['alice@localhost', 'alice-secret'], ['bob@localhost', 'bob-secret']] as const) {
      const added = await rookery(['user', 'add', jid, password], node.env);
      expect(added.stdout).toContain(`created ${jid}`);
    }

    const alice = await login('alice', 'alice-secret');
    const set = await alice.iq('set', "<query xmlns='jabber:iq:roster'><item jid='bob@localhost' name='Bob'><group>Friends</group></item></query>");
    expect(set.attrs.type).toBe('result');
    alice.send("<message to='bob@localhost' type='chat' id='kept-1'><body>written before the crash</body></message>");
    // Stanzas of one stream are handled in order: once the ping is answered, the message was stored.
    await alice.barrier();

    await node.kill9();
    node = await startNodeProcess(dataDir);

    const again = await login('alice', 'alice-secret');
    const roster = await again.iq('get', "<query xmlns='jabber:iq:roster'/>");
    const item = roster.getChild('query', 'jabber:iq:roster')?.getChildren('item') ?? [];
    expect(item.map((element) => [element.attrs.jid, element.attrs.name, element.getChildText('group')])).toStrictEqual([['bob@localhost', 'Bob', 'Friends']]);

    const bob = await login('bob', 'bob-secret');
    bob.send('<presence/>');
    const message = await bob.expect(xml`<message from='alice@localhost/desk' type='chat' id='kept-1'><body>written before the crash</body></message>`);
    expect(message.getChild('delay', 'urn:xmpp:delay')?.attrs.from).toBe('localhost');
  }, 120_000);
});
