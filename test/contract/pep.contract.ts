// The PepStore and CapsStore contracts (src/state/pep.ts, src/state/caps.ts).
import { describe, expect, it } from 'vitest';
import { DEFAULT_NODE_CONFIG, DEFAULT_SUBSCRIPTION_OPTIONS, type PepLimits, type PepNodeConfig, type SubscriptionOptions } from '../../src/state/pep.js';
import { awkwardUsers, freshUser, unique, useBackend, type BackendFactory } from './helpers.js';

const LIMITS: PepLimits = { nodes: 3, itemsPerNode: 5, itemBytes: 1000, totalBytes: 2000 };
const OPEN: PepNodeConfig = { ...DEFAULT_NODE_CONFIG, access_model: 'open', max_items: 3 };
const DEVICES = 'eu.siacs.conversations.axolotl.devicelist';
const item = (id: string, text = id): { id: string; xml: string } => ({ id, xml: `<x xmlns='urn:t'>${text}</x>` });
const DEFAULTS: SubscriptionOptions = { ...DEFAULT_SUBSCRIPTION_OPTIONS };
const HELD: SubscriptionOptions = { deliver: false, include_body: false };
const BODY: SubscriptionOptions = { deliver: true, include_body: true };

export function pepContract(makeBackend: BackendFactory): void {
  describe('PepStore contract', () => {
    const backend = useBackend(makeBackend);
    const pep = () => backend().pep;

    it('knows no node of a new account', async () => {
      const user = freshUser();
      await expect(pep().items(user, DEVICES)).resolves.toBeUndefined();
      await expect(pep().config(user, DEVICES)).resolves.toBeUndefined();
      await expect(pep().nodes(user)).resolves.toStrictEqual(new Map());
    });

    it('creates a node on its first publish with the given configuration', async () => {
      const user = freshUser();
      const result = await pep().publish(user, DEVICES, item('current'), OPEN, {}, LIMITS);
      expect(result).toStrictEqual({ outcome: 'published', created: true, config: OPEN, trimmed: [], subscribers: [] });
      await expect(pep().items(user, DEVICES)).resolves.toStrictEqual({ config: OPEN, items: [item('current')] });
      await expect(pep().nodes(user)).resolves.toStrictEqual(new Map([[DEVICES, OPEN]]));
    });

    it('keeps items newest first, a republished id becoming the newest, the oldest beyond max_items going', async () => {
      const user = freshUser();
      for (const id of ['a', 'b', 'c']) await pep().publish(user, 'n', item(id), OPEN, {}, LIMITS);
      const again = await pep().publish(user, 'n', item('a', 'a2'), OPEN, {}, LIMITS);
      expect(again).toMatchObject({ outcome: 'published', created: false, trimmed: [] });
      const fourth = await pep().publish(user, 'n', item('d'), OPEN, {}, LIMITS);
      expect(fourth).toMatchObject({ outcome: 'published', trimmed: ['b'] });
      const stored = await pep().items(user, 'n');
      expect(stored?.items).toStrictEqual([item('d'), item('a', 'a2'), item('c')]);
    });

    it('reads the newest items, or items by id', async () => {
      const user = freshUser();
      for (const id of ['a', 'b', 'c']) await pep().publish(user, 'n', item(id), OPEN, {}, LIMITS);
      expect((await pep().items(user, 'n', { max: 2 }))?.items).toStrictEqual([item('c'), item('b')]);
      expect((await pep().items(user, 'n', { ids: ['a', 'zz', 'c'] }))?.items).toStrictEqual([item('a'), item('c')]);
      expect((await pep().items(user, 'n', { max: 0 }))?.items).toStrictEqual([]);
    });

    it('keeps only the last item of a node that does not persist items', async () => {
      const user = freshUser();
      const transient = { ...OPEN, persist_items: false, max_items: 10 };
      await pep().publish(user, 'n', item('a'), transient, {}, LIMITS);
      await pep().publish(user, 'n', item('b'), transient, {}, LIMITS);
      expect((await pep().items(user, 'n'))?.items).toStrictEqual([item('b')]);
    });

    it('never keeps more than itemsPerNode, whatever max_items says', async () => {
      const user = freshUser();
      const many = { ...OPEN, max_items: 1000 };
      for (let n = 0; n < 7; n++) await pep().publish(user, 'n', item(`i${n}`), many, {}, LIMITS);
      expect((await pep().items(user, 'n'))?.items).toHaveLength(LIMITS.itemsPerNode);
    });

    it('checks preconditions against an existing node only', async () => {
      const user = freshUser();
      await expect(pep().publish(user, 'n', item('a'), OPEN, { access_model: 'presence' }, LIMITS)).resolves.toMatchObject({ outcome: 'published', created: true });
      await expect(pep().publish(user, 'n', item('b'), OPEN, { access_model: 'presence' }, LIMITS)).resolves.toStrictEqual({ outcome: 'precondition-not-met' });
      await expect(pep().publish(user, 'n', item('b'), OPEN, { access_model: 'open', max_items: 3 }, LIMITS)).resolves.toMatchObject({ outcome: 'published' });
      expect((await pep().items(user, 'n'))?.items.map(({ id }) => id)).toStrictEqual(['b', 'a']);
    });

    it('refuses an item larger than itemBytes, a node past `nodes` and bytes past totalBytes', async () => {
      const user = freshUser();
      await expect(pep().publish(user, 'n0', { id: 'big', xml: `<x>${'é'.repeat(LIMITS.itemBytes / 2)}</x>` }, OPEN, {}, LIMITS)).resolves.toStrictEqual({ outcome: 'too-large' });
      for (const node of ['n0', 'n1', 'n2']) await pep().publish(user, node, item('a'), OPEN, {}, LIMITS);
      await expect(pep().publish(user, 'n3', item('a'), OPEN, {}, LIMITS)).resolves.toStrictEqual({ outcome: 'nodes-full' });
      await expect(pep().create(user, 'n3', OPEN, LIMITS)).resolves.toBe('nodes-full');
      const big = (id: string): { id: string; xml: string } => ({ id, xml: `<x>${'a'.repeat(900)}</x>` });
      await expect(pep().publish(user, 'n0', big('b1'), OPEN, {}, LIMITS)).resolves.toMatchObject({ outcome: 'published' });
      await expect(pep().publish(user, 'n1', big('b2'), OPEN, {}, LIMITS)).resolves.toMatchObject({ outcome: 'published' });
      await expect(pep().publish(user, 'n2', big('b3'), OPEN, {}, LIMITS)).resolves.toStrictEqual({ outcome: 'bytes-full' });
      // Replacing an item counts only the difference.
      await expect(pep().publish(user, 'n1', big('b2'), OPEN, {}, LIMITS)).resolves.toMatchObject({ outcome: 'published' });
      // Retracting frees its bytes.
      await expect(pep().retract(user, 'n1', 'b2')).resolves.toBe(true);
      await expect(pep().publish(user, 'n2', big('b3'), OPEN, {}, LIMITS)).resolves.toMatchObject({ outcome: 'published' });
    });

    it('counts the bytes a publish trims as freed', async () => {
      const user = freshUser();
      const one = { ...OPEN, max_items: 1 };
      const big = (id: string): { id: string; xml: string } => ({ id, xml: `<x>${'a'.repeat(1500)}</x>` });
      const roomy = { ...LIMITS, itemBytes: 2000 };
      await expect(pep().publish(user, 'avatar', big('v1'), one, {}, roomy)).resolves.toMatchObject({ outcome: 'published' });
      await expect(pep().publish(user, 'avatar', big('v2'), one, {}, roomy)).resolves.toMatchObject({ outcome: 'published', trimmed: ['v1'] });
    });

    it('lets exactly `nodes` of many racing creating publishes through', async () => {
      const user = freshUser();
      const results = await Promise.all(Array.from({ length: 10 }, (_, n) => pep().publish(user, `race${n}`, item('a'), OPEN, {}, LIMITS)));
      expect(results.filter((result) => result.outcome === 'published')).toHaveLength(LIMITS.nodes);
      expect((await pep().nodes(user)).size).toBe(LIMITS.nodes);
    });

    it('creates an empty node once', async () => {
      const user = freshUser();
      await expect(pep().create(user, 'n', OPEN, LIMITS)).resolves.toBe('created');
      await expect(pep().create(user, 'n', DEFAULT_NODE_CONFIG, LIMITS)).resolves.toBe('exists');
      await expect(pep().items(user, 'n')).resolves.toStrictEqual({ config: OPEN, items: [] });
    });

    it('configures a node, trimming what its new max_items leaves out', async () => {
      const user = freshUser();
      for (const id of ['a', 'b', 'c']) await pep().publish(user, 'n', item(id), OPEN, {}, LIMITS);
      const whitelisted: PepNodeConfig = { ...OPEN, access_model: 'whitelist', whitelist: ['bob@example.com'], max_items: 1 };
      await expect(pep().configure(user, 'n', whitelisted)).resolves.toStrictEqual({ trimmed: ['a', 'b'] });
      await expect(pep().items(user, 'n')).resolves.toStrictEqual({ config: whitelisted, items: [item('c')] });
      await expect(pep().configure(user, 'missing', OPEN)).resolves.toBeUndefined();
    });

    it('retracts, purges and deletes, saying whether there was something', async () => {
      const user = freshUser();
      for (const id of ['a', 'b']) await pep().publish(user, 'n', item(id), OPEN, {}, LIMITS);
      await expect(pep().retract(user, 'n', 'a')).resolves.toBe(true);
      await expect(pep().retract(user, 'n', 'a')).resolves.toBe(false);
      await expect(pep().purge(user, 'n')).resolves.toBe(true);
      await expect(pep().items(user, 'n')).resolves.toStrictEqual({ config: OPEN, items: [] });
      await expect(pep().deleteNode(user, 'n')).resolves.toBe(true);
      await expect(pep().deleteNode(user, 'n')).resolves.toBe(false);
      await expect(pep().purge(user, 'n')).resolves.toBe(false);
      await expect(pep().items(user, 'n')).resolves.toBeUndefined();
    });

    it('deletes all of one account and nothing of another', async () => {
      const [alice, bob] = [freshUser('alice'), freshUser('bob')];
      await pep().publish(alice, 'a:b{c}%', item('1'), OPEN, {}, LIMITS);
      await pep().publish(bob, 'n', item('1'), OPEN, {}, LIMITS);
      await pep().deleteAll(alice);
      await expect(pep().nodes(alice)).resolves.toStrictEqual(new Map());
      await expect(pep().items(alice, 'a:b{c}%')).resolves.toBeUndefined();
      // Nothing of the old bytes is left counting against the account.
      const big = { id: 'x', xml: `<x>${'a'.repeat(1900)}</x>` };
      await expect(pep().publish(alice, 'n', big, OPEN, {}, { ...LIMITS, itemBytes: 2000 })).resolves.toMatchObject({ outcome: 'published' });
      expect((await pep().items(bob, 'n'))?.items).toStrictEqual([item('1')]);
    });

    it('keeps explicit subscriptions of an existing node, answering them with each publish', async () => {
      const user = freshUser();
      await expect(pep().subscribe(user, 'n', 'bob@example.com', 3)).resolves.toBe('no-node');
      await pep().publish(user, 'n', item('a'), OPEN, {}, LIMITS);
      await pep().create(user, 'm', OPEN, LIMITS);
      await expect(pep().subscribe(user, 'n', 'bob@example.com/phone', 3)).resolves.toBe('subscribed');
      await expect(pep().subscribe(user, 'n', 'carol@example.com', 3)).resolves.toBe('subscribed');
      await expect(pep().subscribe(user, 'n', 'bob@example.com/phone', 3)).resolves.toBe('subscribed');
      await expect(pep().subscribe(user, 'm', 'bob@example.com', 3)).resolves.toBe('subscribed');
      await expect(pep().publish(user, 'n', item('b'), OPEN, {}, LIMITS)).resolves.toMatchObject({
        outcome: 'published', subscribers: [{ jid: 'bob@example.com/phone', options: DEFAULTS }, { jid: 'carol@example.com', options: DEFAULTS }],
      });
      await expect(pep().subscriptions(user, 'n')).resolves.toStrictEqual([{ node: 'n', jid: 'bob@example.com/phone', options: DEFAULTS }, { node: 'n', jid: 'carol@example.com', options: DEFAULTS }]);
      await expect(pep().subscriptions(user)).resolves.toStrictEqual([
        { node: 'm', jid: 'bob@example.com', options: DEFAULTS }, { node: 'n', jid: 'bob@example.com/phone', options: DEFAULTS }, { node: 'n', jid: 'carol@example.com', options: DEFAULTS },
      ]);
      await expect(pep().unsubscribe(user, 'n', 'bob@example.com/phone')).resolves.toBe(true);
      await expect(pep().unsubscribe(user, 'n', 'bob@example.com/phone')).resolves.toBe(false);
      await expect(pep().unsubscribe(user, 'n', 'carol@example.com')).resolves.toBe(true);
      await expect(pep().subscriptions(user, 'n')).resolves.toStrictEqual([]);
      await expect(pep().publish(user, 'n', item('c'), OPEN, {}, LIMITS)).resolves.toMatchObject({ subscribers: [] });
    });

    it('keeps each subscription\'s options: set at subscribe or later, kept by a subscribe without them, gone with the subscription', async () => {
      const user = freshUser();
      await pep().publish(user, 'n', item('a'), OPEN, {}, LIMITS);
      await pep().create(user, 'm', OPEN, LIMITS);
      await expect(pep().setSubscriptionOptions(user, 'n', 'bob@example.com', HELD)).resolves.toBe(false);
      await expect(pep().subscribe(user, 'n', 'bob@example.com', 3, HELD)).resolves.toBe('subscribed');
      await expect(pep().subscribe(user, 'n', 'carol@example.com/pc', 3)).resolves.toBe('subscribed');
      await expect(pep().subscribe(user, 'm', 'bob@example.com', 3)).resolves.toBe('subscribed');
      await expect(pep().setSubscriptionOptions(user, 'n', 'carol@example.com/pc', BODY)).resolves.toBe(true);
      // A subscribe without options keeps them; one with options replaces them.
      await expect(pep().subscribe(user, 'n', 'bob@example.com', 3)).resolves.toBe('subscribed');
      await expect(pep().publish(user, 'n', item('b'), OPEN, {}, LIMITS)).resolves.toMatchObject({
        subscribers: [{ jid: 'bob@example.com', options: HELD }, { jid: 'carol@example.com/pc', options: BODY }],
      });
      await expect(pep().subscriptions(user)).resolves.toStrictEqual([
        { node: 'm', jid: 'bob@example.com', options: DEFAULTS }, { node: 'n', jid: 'bob@example.com', options: HELD }, { node: 'n', jid: 'carol@example.com/pc', options: BODY },
      ]);
      await expect(pep().subscribe(user, 'n', 'bob@example.com', 3, DEFAULTS)).resolves.toBe('subscribed');
      await expect(pep().subscriptions(user, 'n')).resolves.toStrictEqual([{ node: 'n', jid: 'bob@example.com', options: DEFAULTS }, { node: 'n', jid: 'carol@example.com/pc', options: BODY }]);
      // Unsubscribing, or deleting the node, takes the options: a new subscription starts from the defaults.
      await expect(pep().unsubscribe(user, 'n', 'carol@example.com/pc')).resolves.toBe(true);
      await expect(pep().setSubscriptionOptions(user, 'n', 'carol@example.com/pc', BODY)).resolves.toBe(false);
      await pep().subscribe(user, 'n', 'carol@example.com/pc', 3);
      await pep().setSubscriptionOptions(user, 'm', 'bob@example.com', HELD);
      await pep().deleteNode(user, 'm');
      await pep().create(user, 'm', OPEN, LIMITS);
      await pep().subscribe(user, 'm', 'bob@example.com', 3);
      await expect(pep().subscriptions(user)).resolves.toStrictEqual([
        { node: 'm', jid: 'bob@example.com', options: DEFAULTS }, { node: 'n', jid: 'bob@example.com', options: DEFAULTS }, { node: 'n', jid: 'carol@example.com/pc', options: DEFAULTS },
      ]);
    });

    it('bounds the subscribers of a node, racing subscribes included', async () => {
      const user = freshUser();
      await pep().create(user, 'n', OPEN, LIMITS);
      const results = await Promise.all(Array.from({ length: 8 }, (_, n) => pep().subscribe(user, 'n', `s${n}@example.com`, 3)));
      expect(results.filter((result) => result === 'subscribed')).toHaveLength(3);
      expect(results.filter((result) => result === 'full')).toHaveLength(5);
      await expect(pep().subscriptions(user, 'n')).resolves.toHaveLength(3);
    });

    it('ends the subscriptions of a deleted node (a purge keeps them) and of a deleted account', async () => {
      const user = freshUser();
      await pep().publish(user, 'n', item('a'), OPEN, {}, LIMITS);
      await pep().subscribe(user, 'n', 'bob@example.com', 3);
      await pep().purge(user, 'n');
      await expect(pep().subscriptions(user, 'n')).resolves.toStrictEqual([{ node: 'n', jid: 'bob@example.com', options: DEFAULTS }]);
      await pep().deleteNode(user, 'n');
      await pep().create(user, 'n', OPEN, LIMITS);
      await expect(pep().subscriptions(user)).resolves.toStrictEqual([]);
      await pep().subscribe(user, 'n', 'bob@example.com', 3);
      await pep().deleteAll(user);
      await expect(pep().subscriptions(user)).resolves.toStrictEqual([]);
    });

    it('keeps awkward account and node names apart', async () => {
      const users = awkwardUsers();
      for (const user of users) {
        await pep().publish(user, 'urn:x:{y}', item('1', user), OPEN, {}, LIMITS);
        await pep().publish(user, 'urn:x:%7By%7D', item('1', 'other'), OPEN, {}, LIMITS);
      }
      for (const user of users) expect((await pep().items(user, 'urn:x:{y}'))?.items).toStrictEqual([item('1', user)]);
    });
  });

  describe('CapsStore contract', () => {
    const backend = useBackend(makeBackend);

    it('keeps the features of a ver for every reader', async () => {
      const ver = unique('ver');
      await expect(backend().caps.features(ver)).resolves.toBeUndefined();
      await backend().caps.store(ver, ['http://jabber.org/protocol/disco#info', `${DEVICES}+notify`]);
      await expect(backend().caps.features(ver)).resolves.toStrictEqual(['http://jabber.org/protocol/disco#info', `${DEVICES}+notify`]);
    });

    it('grants one of many racing claims of a ver', async () => {
      const ver = unique('ver');
      const claims = await Promise.all(Array.from({ length: 8 }, () => backend().caps.claim(ver, 10_000)));
      expect(claims.filter(Boolean)).toHaveLength(1);
    });
  });
}
