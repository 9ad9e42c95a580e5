// The RosterStore contract (src/state/roster.ts).
import { describe, expect, it } from 'vitest';
import type { ContactEntry } from '../../src/state/roster.js';
import { awkwardUsers, freshUser, rosterItem, useBackend, type BackendFactory } from './helpers.js';

export function rosterContract(makeBackend: BackendFactory): void {
  describe('RosterStore contract', () => {
    const backend = useBackend(makeBackend);

    it('reports version 0 and no entries for a roster never saved', async () => {
      const user = freshUser();
      const snapshot = await backend().rosters.load(user);
      expect(snapshot.version).toBe(0);
      expect(snapshot.items.size).toBe(0);
      expect(snapshot.pendingIn.size).toBe(0);
      await expect(backend().rosters.version(user)).resolves.toBe(0);
      await expect(backend().rosters.entry(user, 'contact@example.net')).resolves.toStrictEqual({});
    });

    it('stores a new item from an empty expected entry and returns version 1', async () => {
      const user = freshUser();
      const item = rosterItem('bob@example.net', { name: 'Bob', groups: ['Friends', 'Work'], subscription: 'to', ask: true });
      await expect(backend().rosters.compareAndSet(user, item.jid, {}, { item })).resolves.toBe(1);
      await expect(backend().rosters.entry(user, item.jid)).resolves.toStrictEqual({ item });
      const snapshot = await backend().rosters.load(user);
      expect(snapshot.version).toBe(1);
      expect(snapshot.items).toStrictEqual(new Map([[item.jid, item]]));
      expect(snapshot.pendingIn.size).toBe(0);
      await expect(backend().rosters.version(user)).resolves.toBe(1);
    });

    it('stores an item without a name without inventing one', async () => {
      const user = freshUser();
      const item = rosterItem('nameless@example.net');
      await backend().rosters.compareAndSet(user, item.jid, {}, { item });
      const entry = await backend().rosters.entry(user, item.jid);
      expect(entry.item).toStrictEqual(item);
      expect(entry.item && 'name' in entry.item).toBe(false);
    });

    it('stores a pending inbound request alone and together with an item', async () => {
      const user = freshUser();
      const stanza = '<presence from="carol@example.net" type="subscribe"><status>hi ✓</status></presence>';
      await expect(backend().rosters.compareAndSet(user, 'carol@example.net', {}, { pendingIn: stanza })).resolves.toBe(1);
      await expect(backend().rosters.entry(user, 'carol@example.net')).resolves.toStrictEqual({ pendingIn: stanza });
      const item = rosterItem('carol@example.net', { approved: true });
      await expect(backend().rosters.compareAndSet(user, 'carol@example.net', { pendingIn: stanza }, { item, pendingIn: stanza })).resolves.toBe(2);
      await expect(backend().rosters.entry(user, 'carol@example.net')).resolves.toStrictEqual({ item, pendingIn: stanza });
      const snapshot = await backend().rosters.load(user);
      expect(snapshot.items.get('carol@example.net')).toStrictEqual(item);
      expect(snapshot.pendingIn).toStrictEqual(new Map([['carol@example.net', stanza]]));
    });

    it('reads the items alone as the snapshot holds them, leaving out a contact with only a pending request', async () => {
      const user = freshUser();
      await expect(backend().rosters.items(user)).resolves.toStrictEqual(new Map());
      const bob = rosterItem('bob@example.net', { name: 'Bob', groups: ['Friends'], subscription: 'both' });
      await backend().rosters.compareAndSet(user, bob.jid, {}, { item: bob });
      await backend().rosters.compareAndSet(user, 'carol@example.net', {}, { pendingIn: '<presence type="subscribe"/>' });
      await expect(backend().rosters.items(user)).resolves.toStrictEqual(new Map([[bob.jid, bob]]));
      expect(await backend().rosters.items(user)).toStrictEqual((await backend().rosters.load(user)).items);
    });

    it('treats an empty pending stanza as present, unlike no pending stanza', async () => {
      const user = freshUser();
      await expect(backend().rosters.compareAndSet(user, 'dan@example.net', {}, { pendingIn: '' })).resolves.toBe(1);
      await expect(backend().rosters.entry(user, 'dan@example.net')).resolves.toStrictEqual({ pendingIn: '' });
      await expect(backend().rosters.compareAndSet(user, 'dan@example.net', {}, {})).resolves.toBeUndefined();
      await expect(backend().rosters.compareAndSet(user, 'dan@example.net', { pendingIn: '' }, {})).resolves.toBe(2);
    });

    it('refuses a change whose expected entry is stale and leaves roster and version alone', async () => {
      const user = freshUser();
      const first = rosterItem('eve@example.net', { subscription: 'from' });
      await backend().rosters.compareAndSet(user, first.jid, {}, { item: first });
      const stale: ContactEntry = {};
      const next = rosterItem('eve@example.net', { subscription: 'both' });
      await expect(backend().rosters.compareAndSet(user, first.jid, stale, { item: next })).resolves.toBeUndefined();
      await expect(backend().rosters.compareAndSet(user, first.jid, { item: first, pendingIn: 'x' }, { item: next })).resolves.toBeUndefined();
      await expect(backend().rosters.compareAndSet(user, first.jid, { item: { ...first, name: 'Eve' } }, { item: next })).resolves.toBeUndefined();
      await expect(backend().rosters.entry(user, first.jid)).resolves.toStrictEqual({ item: first });
      await expect(backend().rosters.version(user)).resolves.toBe(1);
    });

    it('compares items regardless of the order of their groups', async () => {
      const user = freshUser();
      const item = rosterItem('fay@example.net', { groups: ['b', 'a', 'c'] });
      await backend().rosters.compareAndSet(user, item.jid, {}, { item });
      const reordered = { ...item, groups: ['c', 'a', 'b'] };
      await expect(backend().rosters.compareAndSet(user, item.jid, { item: reordered }, { item: { ...item, name: 'Fay' } })).resolves.toBe(2);
    });

    it('deletes a contact when the next entry is empty and still takes a new version', async () => {
      const user = freshUser();
      const item = rosterItem('gus@example.net');
      await backend().rosters.compareAndSet(user, item.jid, {}, { item, pendingIn: '<presence/>' });
      await expect(backend().rosters.compareAndSet(user, item.jid, { item, pendingIn: '<presence/>' }, {})).resolves.toBe(2);
      await expect(backend().rosters.entry(user, item.jid)).resolves.toStrictEqual({});
      const snapshot = await backend().rosters.load(user);
      expect(snapshot.version).toBe(2);
      expect(snapshot.items.size).toBe(0);
      expect(snapshot.pendingIn.size).toBe(0);
    });

    it('adds one to the version for every applied change', async () => {
      const user = freshUser();
      let entry: ContactEntry = {};
      for (let i = 1; i <= 5; i++) {
        const next = { item: rosterItem('hal@example.net', { name: `Hal ${i}` }) };
        await expect(backend().rosters.compareAndSet(user, 'hal@example.net', entry, next)).resolves.toBe(i);
        entry = next;
      }
      await expect(backend().rosters.version(user)).resolves.toBe(5);
    });

    it('applies exactly one of racing changes made with the same expected entry', async () => {
      const user = freshUser();
      const base = rosterItem('ivy@example.net');
      await backend().rosters.compareAndSet(user, base.jid, {}, { item: base });
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          backend().rosters.compareAndSet(user, base.jid, { item: base }, { item: rosterItem(base.jid, { name: `writer ${i}` }) }),
        ),
      );
      const applied = results.filter((version) => version !== undefined);
      expect(applied).toStrictEqual([2]);
      const winner = results.findIndex((version) => version !== undefined);
      await expect(backend().rosters.entry(user, base.jid)).resolves.toStrictEqual({ item: rosterItem(base.jid, { name: `writer ${winner}` }) });
      await expect(backend().rosters.version(user)).resolves.toBe(2);
    });

    it('gives racing changes of different contacts distinct, increasing versions', async () => {
      const user = freshUser();
      const contacts = Array.from({ length: 20 }, (_, i) => `contact${i}@example.net`);
      const versions = await Promise.all(contacts.map((jid) => backend().rosters.compareAndSet(user, jid, {}, { item: rosterItem(jid) })));
      expect(versions.every((version) => typeof version === 'number')).toBe(true);
      expect([...versions].sort((a, b) => (a ?? 0) - (b ?? 0))).toStrictEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      const snapshot = await backend().rosters.load(user);
      expect(snapshot.version).toBe(20);
      expect(snapshot.items.size).toBe(20);
    });

    it('forgets everything, including the version, on deleteAll', async () => {
      const user = freshUser();
      await backend().rosters.compareAndSet(user, 'jo@example.net', {}, { item: rosterItem('jo@example.net'), pendingIn: '<presence/>' });
      await backend().rosters.deleteAll(user);
      const snapshot = await backend().rosters.load(user);
      expect(snapshot.version).toBe(0);
      expect(snapshot.items.size).toBe(0);
      expect(snapshot.pendingIn.size).toBe(0);
    });

    it('keeps the rosters of different accounts apart, including awkward JIDs', async () => {
      const users = awkwardUsers();
      for (const [i, user] of users.entries()) {
        await backend().rosters.compareAndSet(user, `friend${i}@example.net`, {}, { item: rosterItem(`friend${i}@example.net`) });
      }
      for (const [i, user] of users.entries()) {
        const snapshot = await backend().rosters.load(user);
        expect(snapshot.version).toBe(1);
        expect([...snapshot.items.keys()]).toStrictEqual([`friend${i}@example.net`]);
      }
    });

    it('stores contacts whose JIDs contain colons, braces and unicode', async () => {
      const user = freshUser();
      const contacts = awkwardUsers();
      for (const jid of contacts) await backend().rosters.compareAndSet(user, jid, {}, { item: rosterItem(jid, { name: jid }), pendingIn: `<p from="${jid}"/>` });
      const snapshot = await backend().rosters.load(user);
      expect(new Set(snapshot.items.keys())).toStrictEqual(new Set(contacts));
      for (const jid of contacts) {
        expect(snapshot.items.get(jid)).toStrictEqual(rosterItem(jid, { name: jid }));
        expect(snapshot.pendingIn.get(jid)).toBe(`<p from="${jid}"/>`);
      }
    });

    it('does not let a caller change the stored item through a returned object', async () => {
      const user = freshUser();
      const item = rosterItem('kim@example.net', { groups: ['a'] });
      await backend().rosters.compareAndSet(user, item.jid, {}, { item });
      const loaded = await backend().rosters.entry(user, item.jid);
      loaded.item?.groups.push('mutated');
      item.groups.push('mutated too');
      await expect(backend().rosters.entry(user, 'kim@example.net')).resolves.toStrictEqual({ item: rosterItem('kim@example.net', { groups: ['a'] }) });
    });
  });
}
