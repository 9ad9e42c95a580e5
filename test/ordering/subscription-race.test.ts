// RFC 6120 §10.1 and RFC 6121 §2.1.6 across nodes: two contacts on different nodes who ask for
// each other's presence at the same moment, and both approve, must each end with the roster push
// that describes the stored item ('both'), never seeing a push older than one already seen. The
// pushes of one account come from both nodes (each node changes both rosters); doc/ordering.md.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RawClient } from '../support/client.js';
import { startCluster, type TestCluster } from '../support/cluster.js';
import { CpuLoad, onlineMany, regressions, rosterPushes, settleAll } from './support.js';

const PAIRS = 100;
const ROUNDS = 20;
/** Rounds run with both cores kept busy by other processes. */
const LOADED = new Set([2, 3, 8, 9, 14, 15]);
const WAIT_MS = 15_000;

describe('simultaneous mutual subscriptions across two nodes', () => {
  let cluster: TestCluster;
  let left: RawClient[] = [];
  let right: RawClient[] = [];
  const load = new CpuLoad();

  beforeAll(async () => {
    cluster = await startCluster({ nodes: 2 });
    const lefts = Array.from({ length: PAIRS }, (_, i) => `left${i}`);
    const rights = Array.from({ length: PAIRS }, (_, i) => `right${i}`);
    await Promise.all([...lefts, ...rights].map((local) => cluster.createUser(local)));
    left = await onlineMany(cluster, 0, lefts);
    right = await onlineMany(cluster, 1, rights);
  }, 60_000);
  afterAll(async () => {
    await load.stop();
    await cluster?.stopAll();
  });
  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => console.log(cluster.output().slice(-4000)));
  });

  it('leaves every client with a last push equal to the stored item, both, and no push older than one seen before', async () => {
    const highest = new Map<RawClient, number>();
    let stale = 0;
    let notBoth = 0;
    let notStored = 0;
    const failedRounds: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // A new partner every round: left i with right i+round, so no state carries over.
      const pairs = left.map((a, i) => [a, right[(i + round) % PAIRS] as RawClient] as const);
      if (LOADED.has(round)) load.start();
      await Promise.all(
        pairs.flatMap(([a, b]) =>
          [[a, b], [b, a]].map(async ([self, other]) => {
            const me = self as RawClient;
            const partner = (other as RawClient).bare;
            me.send(`<presence to='${partner}' type='subscribe'/>`);
            await me.expect((element) => element.name === 'presence' && element.attrs.type === 'subscribe' && element.attrs.from === partner, WAIT_MS);
            me.send(`<presence to='${partner}' type='subscribed'/>`);
            await me.expect((element) => element.name === 'presence' && element.attrs.type === 'subscribed' && element.attrs.from === partner, WAIT_MS);
          }),
        ),
      );
      await settleAll(pairs, `r${round}`);
      await load.stop();
      let roundBad = 0;
      for (const [a, b] of pairs) {
        for (const [me, partner] of [[a, b], [b, a]] as const) {
          const pushes = rosterPushes(me);
          const seen = regressions(pushes, highest.get(me) ?? 0);
          highest.set(me, seen.highest);
          stale += seen.count;
          const last = pushes.filter((push) => push.jid === partner.bare).at(-1);
          const stored = (await cluster.state.rosters.entry(me.bare, partner.bare)).item;
          if (last?.subscription !== 'both') notBoth += 1;
          if (!stored || last?.subscription !== stored.subscription || last.ask !== stored.ask) notStored += 1;
          if (seen.count > 0 || last?.subscription !== 'both') roundBad += 1;
          me.clear();
        }
      }
      if (roundBad > 0) failedRounds.push(`round ${round}${LOADED.has(round) ? ' (loaded)' : ''}: ${roundBad} of ${2 * PAIRS} clients`);
    }
    expect({ stale, notBoth, notStored, failedRounds }).toStrictEqual({ stale: 0, notBoth: 0, notStored: 0, failedRounds: [] });
  }, 120_000);
});
