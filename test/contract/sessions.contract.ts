// The SessionRegistry contract (src/state/sessions.ts).
import { describe, expect, it } from 'vitest';
import { awkwardUsers, collect, freshUser, sessionRecord, unique, useBackend, type BackendFactory } from './helpers.js';

export function sessionsContract(makeBackend: BackendFactory): void {
  describe('SessionRegistry contract', () => {
    const backend = useBackend(makeBackend);

    it('stores a claimed record and reports that it replaced nothing', async () => {
      const record = sessionRecord(`${freshUser()}/phone`, { priority: 5, presence: '<presence><show>away</show></presence>', carbons: true });
      await expect(backend().sessions.claim(record)).resolves.toBeUndefined();
      await expect(backend().sessions.get(record.full_jid)).resolves.toStrictEqual(record);
    });

    it('knows nothing about a full JID never claimed', async () => {
      await expect(backend().sessions.get(`${freshUser()}/nowhere`)).resolves.toBeUndefined();
      await expect(backend().sessions.resources(freshUser())).resolves.toStrictEqual([]);
    });

    it('returns the replaced record when a full JID is claimed again', async () => {
      const fullJid = `${freshUser()}/laptop`;
      const first = sessionRecord(fullJid, { node: 'node-a', presence: '<presence/>' });
      const second = sessionRecord(fullJid, { node: 'node-b' });
      await backend().sessions.claim(first);
      await expect(backend().sessions.claim(second)).resolves.toStrictEqual(first);
      await expect(backend().sessions.get(fullJid)).resolves.toStrictEqual(second);
    });

    it('tells exactly one of two racing claims that it replaced the other', async () => {
      const fullJid = `${freshUser()}/race`;
      const left = sessionRecord(fullJid, { node: 'node-left' });
      const right = sessionRecord(fullJid, { node: 'node-right' });
      const before = await backend().sessions.count();
      const [leftReplaced, rightReplaced] = await Promise.all([backend().sessions.claim(left), backend().sessions.claim(right)]);
      expect([leftReplaced, rightReplaced].filter((replaced) => replaced === undefined)).toHaveLength(1);
      const stored = await backend().sessions.get(fullJid);
      if (leftReplaced === undefined) {
        expect(rightReplaced).toStrictEqual(left);
        expect(stored).toStrictEqual(right);
      } else {
        expect(leftReplaced).toStrictEqual(right);
        expect(stored).toStrictEqual(left);
      }
      await expect(backend().sessions.resources(fullJid.split('/')[0] ?? '')).resolves.toHaveLength(1);
      await expect(backend().sessions.count()).resolves.toBe(before + 1);
    });

    it('applies a patch while the record carries the caller’s session id', async () => {
      const record = sessionRecord(`${freshUser()}/desk`);
      await backend().sessions.claim(record);
      await expect(
        backend().sessions.update(record.full_jid, record.session_id, {
          priority: -3,
          presence: '<presence><status>“busy”</status></presence>',
          interested: true,
          carbons: true,
          blocklist_interested: true,
        }),
      ).resolves.toBe(true);
      await expect(backend().sessions.get(record.full_jid)).resolves.toStrictEqual({
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
      await backend().sessions.claim(record);
      await expect(backend().sessions.update(record.full_jid, record.session_id, { carbons: true })).resolves.toBe(true);
      await expect(backend().sessions.get(record.full_jid)).resolves.toStrictEqual({ ...record, carbons: true });
      await expect(backend().sessions.update(record.full_jid, record.session_id, {})).resolves.toBe(true);
      await expect(backend().sessions.get(record.full_jid)).resolves.toStrictEqual({ ...record, carbons: true });
    });

    it('clears the presence when the patch sets it to null', async () => {
      const record = sessionRecord(`${freshUser()}/desk`, { presence: '<presence/>' });
      await backend().sessions.claim(record);
      await expect(backend().sessions.update(record.full_jid, record.session_id, { presence: null })).resolves.toBe(true);
      const stored = await backend().sessions.get(record.full_jid);
      const { presence: _dropped, ...withoutPresence } = record;
      expect(stored).toStrictEqual(withoutPresence);
      expect(stored && 'presence' in stored).toBe(false);
    });

    it('ignores an update carrying a stale session id', async () => {
      const fullJid = `${freshUser()}/tablet`;
      const old = sessionRecord(fullJid);
      const current = sessionRecord(fullJid);
      await backend().sessions.claim(old);
      await backend().sessions.claim(current);
      await expect(backend().sessions.update(fullJid, old.session_id, { priority: 99, presence: '<presence/>' })).resolves.toBe(false);
      await expect(backend().sessions.get(fullJid)).resolves.toStrictEqual(current);
    });

    it('ignores an update of a full JID that has no record', async () => {
      const fullJid = `${freshUser()}/ghost`;
      await expect(backend().sessions.update(fullJid, 'no-such-session', { priority: 1 })).resolves.toBe(false);
      await expect(backend().sessions.get(fullJid)).resolves.toBeUndefined();
    });

    it('ignores a release carrying a stale session id', async () => {
      const fullJid = `${freshUser()}/tablet`;
      const old = sessionRecord(fullJid);
      const current = sessionRecord(fullJid);
      await backend().sessions.claim(old);
      await backend().sessions.claim(current);
      const before = await backend().sessions.count();
      await expect(backend().sessions.release(fullJid, old.session_id)).resolves.toBe(false);
      await expect(backend().sessions.get(fullJid)).resolves.toStrictEqual(current);
      await expect(backend().sessions.count()).resolves.toBe(before);
    });

    it('removes the record on release with the current session id, once', async () => {
      const record = sessionRecord(`${freshUser()}/watch`);
      await backend().sessions.claim(record);
      await expect(backend().sessions.release(record.full_jid, record.session_id)).resolves.toBe(true);
      await expect(backend().sessions.release(record.full_jid, record.session_id)).resolves.toBe(false);
      await expect(backend().sessions.get(record.full_jid)).resolves.toBeUndefined();
    });

    it('counts records: one per claimed full JID, minus the released ones', async () => {
      const before = await backend().sessions.count();
      const user = freshUser();
      const a = sessionRecord(`${user}/a`);
      const b = sessionRecord(`${user}/b`);
      await backend().sessions.claim(a);
      await backend().sessions.claim(b);
      await backend().sessions.claim(sessionRecord(`${user}/b`));
      await expect(backend().sessions.count()).resolves.toBe(before + 2);
      await backend().sessions.release(a.full_jid, a.session_id);
      await backend().sessions.release(b.full_jid, b.session_id);
      await expect(backend().sessions.count()).resolves.toBe(before + 1);
    });

    it('lists every resource of one account and none of other accounts', async () => {
      const user = freshUser();
      const records = ['a', 'b', 'c'].map((resource) => sessionRecord(`${user}/${resource}`));
      for (const record of records) await backend().sessions.claim(record);
      await backend().sessions.claim(sessionRecord(`${user}.org/a`));
      await backend().sessions.claim(sessionRecord(`x${user}/a`));
      const resources = await backend().sessions.resources(user);
      expect(resources.sort((l, r) => l.full_jid.localeCompare(r.full_jid))).toStrictEqual(records);
    });

    it('keeps resources whose names contain slashes, colons and braces', async () => {
      const user = freshUser();
      const records = ['with/slash', 'with:colon', '{brace}', 'ünïcode 🐦'].map((resource) => sessionRecord(`${user}/${resource}`));
      for (const record of records) await backend().sessions.claim(record);
      for (const record of records) await expect(backend().sessions.get(record.full_jid)).resolves.toStrictEqual(record);
      await expect(backend().sessions.resources(user)).resolves.toHaveLength(records.length);
    });

    it('keeps the sessions of accounts with awkward JIDs apart', async () => {
      const records = awkwardUsers().map((user) => sessionRecord(`${user}/r`));
      for (const record of records) await expect(backend().sessions.claim(record)).resolves.toBeUndefined();
      for (const record of records) {
        await expect(backend().sessions.resources(record.full_jid.slice(0, -2))).resolves.toStrictEqual([record]);
      }
    });

    it('yields every record a node owns, and only those, for a few hundred sessions', async () => {
      const node = unique('node');
      const other = unique('node');
      const users = Array.from({ length: 30 }, () => freshUser('bynode'));
      const mine = users.flatMap((user) => Array.from({ length: 10 }, (_, i) => sessionRecord(`${user}/r${i}`, { node })));
      const theirs = users.map((user) => sessionRecord(`${user}/elsewhere`, { node: other }));
      await Promise.all([...mine, ...theirs].map((record) => backend().sessions.claim(record)));
      const yielded = await collect(backend().sessions.byNode(node));
      expect(yielded).toHaveLength(mine.length);
      expect(new Set(yielded.map((record) => record.session_id))).toStrictEqual(new Set(mine.map((record) => record.session_id)));
      const yieldedOther = await collect(backend().sessions.byNode(other));
      expect(yieldedOther.map((record) => record.session_id).sort()).toStrictEqual(theirs.map((record) => record.session_id).sort());
    });

    it('stops yielding a record under its old node once another node replaced it', async () => {
      const [oldNode, newNode] = [unique('node'), unique('node')];
      const fullJid = `${freshUser()}/moving`;
      const first = sessionRecord(fullJid, { node: oldNode });
      const second = sessionRecord(fullJid, { node: newNode });
      await backend().sessions.claim(first);
      await backend().sessions.claim(second);
      await expect(collect(backend().sessions.byNode(oldNode))).resolves.toStrictEqual([]);
      await expect(collect(backend().sessions.byNode(newNode))).resolves.toStrictEqual([second]);
    });

    it('stops yielding a released record under its node', async () => {
      const node = unique('node');
      const kept = sessionRecord(`${freshUser()}/kept`, { node });
      const released = sessionRecord(`${freshUser()}/released`, { node });
      await backend().sessions.claim(kept);
      await backend().sessions.claim(released);
      await backend().sessions.release(released.full_jid, released.session_id);
      await expect(collect(backend().sessions.byNode(node))).resolves.toStrictEqual([kept]);
    });

    it('yields the current record under a node when the same node claimed a full JID again', async () => {
      const node = unique('node');
      const fullJid = `${freshUser()}/again`;
      await backend().sessions.claim(sessionRecord(fullJid, { node }));
      const current = sessionRecord(fullJid, { node });
      await backend().sessions.claim(current);
      await expect(collect(backend().sessions.byNode(node))).resolves.toStrictEqual([current]);
    });

    it('yields every record of the deployment exactly once for a few hundred sessions', async () => {
      const users = Array.from({ length: 50 }, () => freshUser('all'));
      const records = users.flatMap((user) => Array.from({ length: 6 }, (_, i) => sessionRecord(`${user}/r${i}`, { node: unique('node') })));
      await Promise.all(records.map((record) => backend().sessions.claim(record)));
      const wanted = new Set(records.map((record) => record.session_id));
      const yielded = (await collect(backend().sessions.all())).filter((record) => wanted.has(record.session_id));
      expect(yielded).toHaveLength(records.length);
      expect(new Set(yielded.map((record) => record.session_id))).toStrictEqual(wanted);
      const byId = new Map(records.map((record) => [record.session_id, record]));
      for (const record of yielded) expect(record).toStrictEqual(byId.get(record.session_id));
    });

    it('does not yield released records from all', async () => {
      const record = sessionRecord(`${freshUser()}/gone`);
      await backend().sessions.claim(record);
      await backend().sessions.release(record.full_jid, record.session_id);
      const all = await collect(backend().sessions.all());
      expect(all.some((entry) => entry.session_id === record.session_id)).toBe(false);
    });

    it('writes back a lost record on reassert, counts it and indexes it under its node', async () => {
      const node = unique('node');
      const record = sessionRecord(`${freshUser()}/back`, { node, presence: '<presence/>', priority: 2 });
      const before = await backend().sessions.count();
      await expect(backend().sessions.reassert(record)).resolves.toBe('written');
      await expect(backend().sessions.get(record.full_jid)).resolves.toStrictEqual(record);
      await expect(backend().sessions.count()).resolves.toBe(before + 1);
      await expect(collect(backend().sessions.byNode(node))).resolves.toStrictEqual([record]);
    });

    it('keeps the same bind on reassert, with the node’s view, without counting it twice', async () => {
      const record = sessionRecord(`${freshUser()}/same`, { priority: 1 });
      await backend().sessions.claim(record);
      const before = await backend().sessions.count();
      const view = { ...record, priority: 7, interested: true };
      await expect(backend().sessions.reassert(view)).resolves.toBe('kept');
      await expect(backend().sessions.get(record.full_jid)).resolves.toStrictEqual(view);
      await expect(backend().sessions.count()).resolves.toBe(before);
    });

    it('leaves another bind’s record alone on reassert and says the session was replaced', async () => {
      const fullJid = `${freshUser()}/moved`;
      const newer = sessionRecord(fullJid, { node: 'node-new' });
      await backend().sessions.claim(newer);
      await expect(backend().sessions.reassert(sessionRecord(fullJid, { node: 'node-old' }))).resolves.toBe('replaced');
      await expect(backend().sessions.get(fullJid)).resolves.toStrictEqual(newer);
    });
  });
}
