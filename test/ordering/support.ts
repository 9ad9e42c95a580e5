// Helpers of the ordering tests (doc/ordering.md): a real two-node cluster with many clients,
// the pushes each client saw, and busy loops that load both cores while a round runs.
import { type ChildProcess, spawn } from 'node:child_process';
import type { Element } from 'ltx';
import type { RawClient } from '../support/client.js';
import type { TestCluster } from '../support/cluster.js';

export const NS_ROSTER = 'jabber:iq:roster';
export const NS_BLOCKING = 'urn:xmpp:blocking';

/** A roster push as the client saw it: the item's attributes and the push's `ver`. */
export interface SeenPush {
  ver: number;
  jid: string;
  subscription: string;
  ask: boolean;
  name: string | undefined;
}

export function rosterPushes(client: RawClient): SeenPush[] {
  const pushes: SeenPush[] = [];
  for (const element of client.log) {
    if (element.name !== 'iq' || element.attrs.type !== 'set') continue;
    const query = element.getChild('query', NS_ROSTER);
    const item = query?.getChild('item');
    if (!query || !item) continue;
    pushes.push({
      ver: Number(query.attrs.ver),
      jid: String(item.attrs.jid),
      subscription: String(item.attrs.subscription),
      ask: item.attrs.ask === 'subscribe',
      name: item.attrs.name === undefined ? undefined : String(item.attrs.name),
    });
  }
  return pushes;
}

/** How many times a push's `ver` was lower than one before it; `floor` is the highest seen in earlier rounds. */
export function regressions(pushes: readonly SeenPush[], floor: number): { count: number; highest: number } {
  let highest = floor;
  let count = 0;
  for (const push of pushes) {
    if (push.ver < highest) count += 1;
    highest = Math.max(highest, push.ver);
  }
  return { count, highest };
}

/** The blocklist a client believes in: what it fetched, with every push since applied in arrival order. */
export function believedBlocklist(fetched: readonly string[], client: RawClient): string[] {
  const list = new Set(fetched);
  for (const element of client.log) {
    if (element.name !== 'iq' || element.attrs.type !== 'set') continue;
    const block = element.getChild('block', NS_BLOCKING);
    const unblock = element.getChild('unblock', NS_BLOCKING);
    const jids = (block ?? unblock)?.getChildren('item').map((item: Element) => String(item.attrs.jid));
    if (!jids) continue;
    if (block) for (const jid of jids) list.add(jid);
    else if (jids.length === 0) list.clear();
    else for (const jid of jids) list.delete(jid);
  }
  return [...list].sort();
}

/** Logs in `count` clients of one node, in small parallel batches, each interested and available. */
export async function onlineMany(cluster: TestCluster, node: number, locals: readonly string[]): Promise<RawClient[]> {
  const clients: RawClient[] = [];
  for (let i = 0; i < locals.length; i += 20) {
    const batch = await Promise.all(
      locals.slice(i, i + 20).map(async (local) => {
        const client = await cluster.login(node, local, 'desk');
        await client.iq('get', `<query xmlns='${NS_ROSTER}'/>`);
        client.send('<presence/>');
        await client.expect((element) => element.name === 'presence' && element.attrs.from === client.jid);
        return client;
      }),
    );
    clients.push(...batch);
  }
  for (const client of clients) client.clear();
  return clients;
}

/**
 * Proof that nothing sent so far is still on its way: every client's own node has handled all
 * it sent (a ping), then a marker message to a client of the other node travels each node's
 * inbox after whatever that node routed before it (the bus is ordered per sender).
 */
export async function settleAll(pairs: ReadonlyArray<readonly [RawClient, RawClient]>, tag: string): Promise<void> {
  await Promise.all(pairs.flatMap(([a, b]) => [a.barrier(), b.barrier()]));
  await Promise.all(
    pairs.flatMap(([a, b], i) =>
      [[a, b], [b, a]].map(async ([from, to]) => {
        const id = `${tag}-${i}-${from === a ? 'ab' : 'ba'}`;
        (from as RawClient).send(`<message to='${(to as RawClient).jid}' type='chat' id='${id}'><body>marker</body></message>`);
        await (to as RawClient).expect((element) => element.name === 'message' && element.attrs.id === id, 15_000);
      }),
    ),
  );
}

/** One busy loop per core (the machine is shared: the rounds that use this are few and short). */
export class CpuLoad {
  private readonly children: ChildProcess[] = [];

  start(cores = 2): void {
    for (let i = 0; i < cores; i++) {
      this.children.push(spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
    }
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.children.splice(0).map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGKILL');
          }),
      ),
    );
  }
}
