// The SessionRegistry contract (src/state/sessions.ts).
import { describe, expect, it } from 'vitest';
import { awkwardUsers, collect, freshUser, sessionRecord, unique, useBackend, type BackendFactory } from './helpers.js';

export function sessionsContract(makeBackend: BackendFactory): void {
  describe('SessionRegistry contract', () => {
    const backend = useBackend(makeBackend);

    it('stores a claimed record and reports that it replaced nothing', async () => {
      const record = sessionRecord(`${freshUser()}/phone`, { priority: 5, presence: '<presence><show>away</show></presence>', carbons: true });
      await expect(backend().registry.claim(record)).resolves.toBeUndefined();
      await expect(backend().registry.get(record.full_jid)).resolves.toStrictEqual(record);
    });

    it('knows nothing about a full JID never claimed', async () => {
      await expect(backend().registry.get(`${freshUser()}/nowhere`)).resolves.toBeUndefined();
      await expect(backend().registry.resources(freshUser())).resolves.toStrictEqual([]);
    });

    it('returns the replaced record when a full JID is claimed again', async () => {
      const fullJid = `${freshUser()}/laptop`;
      const first = sessionRecord(fullJid, { node: 'node-a', presence: '<presence/>' });
      const second = sessionRecord(fullJid, { node: 'node-b' });
      await backend().registry.claim(first);
      await expect(backend().registry.claim(second)).resolves.toStrictEqual(first);
      await expect(backend().registry.get(fullJid)).resolves.toStrictEqual(second);
    });

    it('tells exactly one of two racing claims that it replaced the other', async () => {
      const fullJid = `${freshUser()}/race`;
      const left = sessionRecord(fullJid, { node: 'node-left' });
      const right = sessionRecord(fullJid, { node: 'node-right' });
      const before = await backend().registry.count();
      const [leftReplaced, rightReplaced] = await Promise.all([backend().registry.claim(left), backend().registry.claim(right)]);
      expect([leftReplaced, rightReplaced].filter((replaced) => replaced === undefined)).toHaveLength(1);
      const stored = await backend().registry.get(fullJid);
      if (leftReplaced === undefined) {
        expect(rightReplaced).toStrictEqual(left);
        expect(stored).toStrictEqual(right);
      } else {
        expect(leftReplaced).toStrictEqual(right);
        expect(stored).toStrictEqual(left);
      }
      await expect(backend().registry.resources(fullJid.split('/')[0] ?? '')).resolves.toHaveLength(1);
      await expect(backend().registry.count()).resolves.toBe(before + 1);
    });

    it('refuses a claim within a limit the account is at, storing and counting nothing', async () => {
      const user = freshUser();
      const [a, b] = [sessionRecord(`${user}/a`), sessionRecord(`${user}/b`)];
      await expect(backend().registry.claimWithin(a, 2)).resolves.toStrictEqual({ claimed: true });
      await expect(backend().registry.claimWithin(b, 2)).resolves.toStrictEqual({ claimed: true });
      const before = await backend().registry.count();
      const third = sessionRecord(`${user}/c`, { node: unique('refused') });
      await expect(backend().registry.claimWithin(third, 2)).resolves.toStrictEqual({ claimed: false });
      await expect(backend().registry.get(third.full_jid)).resolves.toBeUndefined();
      await expect(backend().registry.count()).resolves.toBe(before);
      await expect(collect(backend().registry.byNode(third.node))).resolves.toStrictEqual([]);
    });

    it('lets a claim within a limit the account is at replace one of its own full JIDs', async () => {
      const user = freshUser();
      const first = sessionRecord(`${user}/a`, { node: unique('first') });
      await backend().registry.claimWithin(first, 1);
      const before = await backend().registry.count();
      const again = sessionRecord(`${user}/a`, { node: unique('again') });
      await expect(backend().registry.claimWithin(again, 1)).resolves.toStrictEqual({ claimed: true, replaced: first });
      await expect(backend().registry.resources(user)).resolves.toStrictEqual([again]);
      await expect(backend().registry.count()).resolves.toBe(before);
      await expect(collect(backend().registry.byNode(first.node))).resolves.toStrictEqual([]);
      await expect(collect(backend().registry.byNode(again.node))).resolves.toStrictEqual([again]);
    });

    it('never leaves more records than the limit when claims within it race', async () => {
      const user = freshUser();
      const node = unique('racing');
      const before = await backend().registry.count();
      const outcomes = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((resource) => backend().registry.claimWithin(sessionRecord(`${user}/${resource}`, { node }), 3)));
      expect(outcomes.filter((outcome) => outcome.claimed)).toHaveLength(3);
      await expect(backend().registry.resources(user)).resolves.toHaveLength(3);
      await expect(backend().registry.count()).resolves.toBe(before + 3);
      await expect(collect(backend().registry.byNode(node))).resolves.toHaveLength(3);
    });

    it('applies a patch while the record carries the caller’s session id', async () => {
      const record = sessionRecord(`${freshUser()}/desk`);
      await backend().registry.claim(record);
      await expect(
        backend().registry.update(record.full_jid, record.session_id, {
          priority: -3,
          presence: '<presence><status>“busy”</status></presence>',
          interested: true,
          carbons: true,
          blocklist_interested: true,
        }),
      ).resolves.toBe(true);
      await expect(backend().registry.get(record.full_jid)).resolves.toStrictEqual({
        ...record,
        priority: -3,
        presence: '<presence><status>“busy”</status></presence>',
        interested: true,
        carbons: true,
        blocklist_interested: true,
      });
    });

    it('changes only the patched fields', async () => {
      const record = sessionRecord(`${freshUser()}/desk`, { priority: 7, presence: '<presence/>', interested: true });
      await backend().registry.claim(record);
      await expect(backend().registry.update(record.full_jid, record.session_id, { carbons: true })).resolves.toBe(true);
      await expect(backend().registry.get(record.full_jid)).resolves.toStrictEqual({ ...record, carbons: true });
      await expect(backend().registry.update(record.full_jid, record.session_id, {})).resolves.toBe(true);
      await expect(backend().registry.get(record.full_jid)).resolves.toStrictEqual({ ...record, carbons: true });
    });

    it('clears the presence when the patch sets it to null', async () => {
      const record = sessionRecord(`${freshUser()}/desk`, { presence: '<presence/>' });
      await backend().registry.claim(record);
      await expect(backend().registry.update(record.full_jid, record.session_id, { presence: null })).resolves.toBe(true);
      const stored = await backend().registry.get(record.full_jid);
      const { presence: _dropped, ...withoutPresence } = record;
      expect(stored).toStrictEqual(withoutPresence);
      expect(stored && 'presence' in stored).toBe(false);
    });

    it('ignores an update carrying a stale session id', async () => {
      const fullJid = `${freshUser()}/tablet`;
      const old = sessionRecord(fullJid);
      const current = sessionRecord(fullJid);
      await backend().registry.claim(old);
      await backend().registry.claim(current);
      await expect(backend().registry.update(fullJid, old.session_id, { priority: 99, presence: '<presence/>' })).resolves.toBe(false);
      await expect(backend().registry.get(fullJid)).resolves.toStrictEqual(current);
    });

    it('ignores an update of a full JID that has no record', async () => {
      const fullJid = `${freshUser()}/ghost`;
      await expect(backend().registry.update(fullJid, 'no-such-session', { priority: 1 })).resolves.toBe(false);
      await expect(backend().registry.get(fullJid)).resolves.toBeUndefined();
    });

    it('ignores a release carrying a stale session id', async () => {
      const fullJid = `${freshUser()}/tablet`;
      const old = sessionRecord(fullJid);
      const current = sessionRecord(fullJid);
      await backend().registry.claim(old);
      await backend().registry.claim(current);
      const before = await backend().registry.count();
      await expect(backend().registry.release(fullJid, old.session_id)).resolves.toBe(false);
      await expect(backend().registry.get(fullJid)).resolves.toStrictEqual(current);
      await expect(backend().registry.count()).resolves.toBe(before);
    });

    it('removes the record on release with the current session id, once', async () => {
      const record = sessionRecord(`${freshUser()}/watch`);
      await backend().registry.claim(record);
      await expect(backend().registry.release(record.full_jid, record.session_id)).resolves.toBe(true);
      await expect(backend().registry.release(record.full_jid, record.session_id)).resolves.toBe(false);
      await expect(backend().registry.get(record.full_jid)).resolves.toBeUndefined();
    });

    it('counts records: one per claimed full JID, minus the released ones', async () => {
      const before = await backend().registry.count();
      const user = freshUser();
      const a = sessionRecord(`${user}/a`);
      const b = sessionRecord(`${user}/b`);
      await backend().registry.claim(a);
      await backend().registry.claim(b);
      await backend().registry.claim(sessionRecord(`${user}/b`));
      await expect(backend().registry.count()).resolves.toBe(before + 2);
      await backend().registry.release(a.full_jid, a.session_id);
      await backend().registry.release(b.full_jid, b.session_id);
      await expect(backend().registry.count()).resolves.toBe(before + 1);
    });

    it('lists every resource of one account and none of other accounts', async () => {
      const user = freshUser();
      const records = ['a', 'b', 'c'].map((resource) => sessionRecord(`${user}/${resource}`));
      for (const record of records) await backend().registry.claim(record);
      await backend().registry.claim(sessionRecord(`${user}.org/a`));
      await backend().registry.claim(sessionRecord(`x${user}/a`));
      const resources = await backend().registry.resources(user);
      expect(resources.sort((l, r) => l.full_jid.localeCompare(r.full_jid))).toStrictEqual(records);
    });

    it('keeps resources whose names contain slashes, colons and braces', async () => {
      const user = freshUser();
      const records = ['with/slash', 'with:colon', '{brace}', 'ünïcode 🐦'].map((resource) => sessionRecord(`${user}/${resource}`));
      for (const record of records) await backend().registry.claim(record);
      for (const record of records) await expect(backend().registry.get(record.full_jid)).resolves.toStrictEqual(record);
      await expect(backend().registry.resources(user)).resolves.toHaveLength(records.length);
    });

    it('keeps the sessions of accounts with awkward JIDs apart', async () => {
      const records = awkwardUsers().map((user) => sessionRecord(`${user}/r`));
      for (const record of records) await expect(backend().registry.claim(record)).resolves.toBeUndefined();
      for (const record of records) {
        await expect(backend().registry.resources(record.full_jid.slice(0, -2))).resolves.toStrictEqual([record]);
      }
    });

    it('yields every record a node owns, and only those, for a few hundred sessions', async () => {
      const node = unique('node');
      const other = unique('node');
      const users = Array.from({ length: 30 }, () => freshUser('bynode'));
      const mine = users.flatMap((user) => Array.from({ length: 10 }, (_, i) => sessionRecord(`${user}/r${i}`, { node })));
      const theirs = users.map((user) => sessionRecord(`${user}/elsewhere`, { node: other }));
      await Promise.all([...mine, ...theirs].map((record) => backend().registry.claim(record)));
      const yielded = await collect(backend().registry.byNode(node));
      expect(yielded).toHaveLength(mine.length);
      expect(new Set(yielded.map((record) => record.session_id))).toStrictEqual(new Set(mine.map((record) => record.session_id)));
      const yieldedOther = await collect(backend().registry.byNode(other));
      expect(yieldedOther.map((record) => record.session_id).sort()).toStrictEqual(theirs.map((record) => record.session_id).sort());
    });

    it('stops yielding a record under its old node once another node replaced it', async () => {
      const [oldNode, newNode] = [unique('node'), unique('node')];
      const fullJid = `${freshUser()}/moving`;
      const first = sessionRecord(fullJid, { node: oldNode });
      const second = sessionRecord(fullJid, { node: newNode });
      await backend().registry.claim(first);
      await backend().registry.claim(second);
      await expect(collect(backend().registry.byNode(oldNode))).resolves.toStrictEqual([]);
      await expect(collect(backend().registry.byNode(newNode))).resolves.toStrictEqual([second]);
    });

    it('stops yielding a released record under its node', async () => {
      const node = unique('node');
      const kept = sessionRecord(`${freshUser()}/kept`, { node });
      const released = sessionRecord(`${freshUser()}/released`, { node });
      await backend().registry.claim(kept);
      await backend().registry.claim(released);
      await backend().registry.release(released.full_jid, released.session_id);
      await expect(collect(backend().registry.byNode(node))).resolves.toStrictEqual([kept]);
    });

    it('yields the current record under a node when the same node claimed a full JID again', async () => {
      const node = unique('node');
      const fullJid = `${freshUser()}/again`;
      await backend().registry.claim(sessionRecord(fullJid, { node }));
      const current = sessionRecord(fullJid, { node });
      await backend().registry.claim(current);
      await expect(collect(backend().registry.byNode(node))).resolves.toStrictEqual([current]);
    });

    it('yields every record of the deployment exactly once for a few hundred sessions', async () => {
      const users = Array.from({ length: 50 }, () => freshUser('all'));
      const records = users.flatMap((user) => Array.from({ length: 6 }, (_, i) => sessionRecord(`${user}/r${i}`, { node: unique('node') })));
      await Promise.all(records.map((record) => backend().registry.claim(record)));
      const wanted = new Set(records.map((record) => record.session_id));
      const yielded = (await collect(backend().registry.all())).filter((record) => wanted.has(record.session_id));
      expect(yielded).toHaveLength(records.length);
      expect(new Set(yielded.map((record) => record.session_id))).toStrictEqual(wanted);
      const byId = new Map(records.map((record) => [record.session_id, record]));
      for (const record of yielded) expect(record).toStrictEqual(byId.get(record.session_id));
    });

    it('does not yield released records from all', async () => {
      const record = sessionRecord(`${freshUser()}/gone`);
      await backend().registry.claim(record);
      await backend().registry.release(record.full_jid, record.session_id);
      const all = await collect(backend().registry.all());
      expect(all.some((entry) => entry.session_id === record.session_id)).toBe(false);
    });

    it('writes back a lost record on reassert, counts it and indexes it under its node', async () => {
      const node = unique('node');
      const record = sessionRecord(`${freshUser()}/back`, { node, presence: '<presence/>', priority: 2 });
      const before = await backend().registry.count();
      await expect(backend().registry.reassert(record)).resolves.toBe('written');
      await expect(backend().registry.get(record.full_jid)).resolves.toStrictEqual(record);
      await expect(backend().registry.count()).resolves.toBe(before + 1);
      await expect(collect(backend().registry.byNode(node))).resolves.toStrictEqual([record]);
    });

    it('keeps the same bind on reassert, with the node’s view, without counting it twice', async () => {
      const record = sessionRecord(`${freshUser()}/same`, { priority: 1 });
      await backend().registry.claim(record);
      const before = await backend().registry.count();
      const view = { ...record, priority: 7, interested: true };
      await expect(backend().registry.reassert(view)).resolves.toBe('kept');
      await expect(backend().registry.get(record.full_jid)).resolves.toStrictEqual(view);
      await expect(backend().registry.count()).resolves.toBe(before);
    });

    it('leaves another bind’s record alone on reassert and says the session was replaced', async () => {
      const fullJid = `${freshUser()}/moved`;
      const newer = sessionRecord(fullJid, { node: 'node-new' });
      await backend().registry.claim(newer);
      await expect(backend().registry.reassert(sessionRecord(fullJid, { node: 'node-old' }))).resolves.toBe('replaced');
      await expect(backend().registry.get(fullJid)).resolves.toStrictEqual(newer);
    });
  });
}
