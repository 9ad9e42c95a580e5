// RFC 6120 §10.1, RFC 6121 §2.1.6 and XEP-0191 §3.3 across nodes (doc/ordering.md): pushes of
// one account's roster or blocklist come from both nodes at once (each node changes the state of
// accounts on the other), and every resource must end with the push that describes what is
// stored, never seeing a roster push older than one it already saw. Two node processes, 100
// pairs of clients each split over them; each round takes new partners, so no state carries over.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RawClient } from '../support/client.js';
import { startCluster, type TestCluster } from '../support/cluster.js';
import { believedBlocklist, CpuLoad, NS_BLOCKING, NS_ROSTER, onlineMany, regressions, rosterPushes, settleAll } from './support.js';

const PAIRS = 100;
const ROUNDS = 20;
/** Rounds run with both cores kept busy by other processes. */
const LOADED = new Set([2, 3, 8, 9, 14, 15]);
const WAIT_MS = 15_000;
const NAME_ROUNDS = 10;
const BLOCK_ROUNDS = 10;

describe('pushes of shared state from two nodes at once', () => {
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
  }, 90_000);
  afterAll(async () => {
    await load.stop();
    await cluster?.stopAll();
  });
  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => console.log(cluster.output().slice(-4000)));
  });

  it('leaves both sides of simultaneous mutual subscriptions with a last push equal to the stored item, both, and no push older than one seen before', async () => {
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

  it('leaves a roster set racing a subscription approval with a last push equal to the stored item', async () => {
    const highest = new Map<RawClient, number>();
    let stale = 0;
    let notStored = 0;
    for (let round = 0; round < NAME_ROUNDS; round++) {
      // Partners not used by the test above: this one starts from no item at all.
      const pairs = left.map((a, i) => [a, right[(i + ROUNDS + round) % PAIRS] as RawClient] as const);
      if (LOADED.has(round)) load.start();
      // The requester asks; once the contact has the request, the requester renames the contact
      // (its own node pushes) while the contact approves (the contact's node pushes to the requester).
      await Promise.all(
        pairs.map(async ([a, b]) => {
          a.send(`<presence to='${b.bare}' type='subscribe'/>`);
          await b.expect((element) => element.name === 'presence' && element.attrs.type === 'subscribe' && element.attrs.from === a.bare, WAIT_MS);
          const renamed = a.iq('set', `<query xmlns='${NS_ROSTER}'><item jid='${b.bare}' name='round ${round}'/></query>`);
          b.send(`<presence to='${a.bare}' type='subscribed'/>`);
          await renamed;
          await a.expect((element) => element.name === 'presence' && element.attrs.type === 'subscribed' && element.attrs.from === b.bare, WAIT_MS);
        }),
      );
      await settleAll(pairs, `n${round}`);
      await load.stop();
      for (const [a, b] of pairs) {
        const pushes = rosterPushes(a);
        const seen = regressions(pushes, highest.get(a) ?? 0);
        highest.set(a, seen.highest);
        stale += seen.count;
        const last = pushes.filter((push) => push.jid === b.bare).at(-1);
        const stored = (await cluster.state.rosters.entry(a.bare, b.bare)).item;
        if (!stored || last?.subscription !== stored.subscription || last.ask !== stored.ask || last.name !== stored.name) notStored += 1;
        a.clear();
        b.clear();
      }
    }
    expect({ stale, notStored }).toStrictEqual({ stale: 0, notStored: 0 });
  }, 120_000);

  it('leaves both resources of an account with the stored blocklist when one blocks and the other unblocks at once', async () => {
    // Each left account gets a second resource on the other node; both fetch the blocklist.
    const second: RawClient[] = [];
    for (let i = 0; i < PAIRS; i += 20) {
      second.push(...(await Promise.all(left.slice(i, i + 20).map((a) => cluster.login(1, a.bare.split('@')[0] as string, 'laptop')))));
    }
    const fetched = new Map<RawClient, string[]>();
    const fetch = async (client: RawClient): Promise<void> => {
      const result = await client.iq('get', `<blocklist xmlns='${NS_BLOCKING}'/>`);
      fetched.set(client, (result.getChild('blocklist', NS_BLOCKING)?.getChildren('item') ?? []).map((item) => String(item.attrs.jid)));
      client.clear();
    };
    await Promise.all([...left, ...second].map(fetch));
    const pairs = left.map((a, i) => [a, second[i] as RawClient] as const);
    let wrong = 0;
    const failedRounds: string[] = [];
    for (let round = 0; round < BLOCK_ROUNDS; round++) {
      // Every other round reuses the previous JID, so both "already blocked" and "not yet" race.
      const target = `spammer${Math.floor(round / 2)}@localhost`;
      if (LOADED.has(round)) load.start();
      await Promise.all(
        pairs.map(([a, b]) =>
          Promise.all([
            a.iq('set', `<block xmlns='${NS_BLOCKING}'><item jid='${target}'/></block>`),
            b.iq('set', `<unblock xmlns='${NS_BLOCKING}'><item jid='${target}'/></unblock>`),
          ]),
        ),
      );
      await settleAll(pairs, `b${round}`);
      await load.stop();
      let roundBad = 0;
      for (const [a, b] of pairs) {
        const stored = [...(await cluster.state.blocklists.get(a.bare))].sort();
        for (const client of [a, b]) {
          const believed = believedBlocklist(fetched.get(client) ?? [], client);
          if (JSON.stringify(believed) !== JSON.stringify(stored)) roundBad += 1;
          // The next round starts from the truth, so each round counts only its own mistakes.
          fetched.set(client, stored);
          client.clear();
        }
      }
      wrong += roundBad;
      if (roundBad > 0) failedRounds.push(`round ${round}: ${roundBad} of ${2 * PAIRS} resources`);
    }
    expect({ wrong, failedRounds }).toStrictEqual({ wrong: 0, failedRounds: [] });
  }, 120_000);
});
