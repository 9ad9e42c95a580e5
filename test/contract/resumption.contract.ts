// The ResumptionStore contract (src/state/resumption.ts, XEP-0198 resumption state): the ownership
// rules that let a stream move between nodes without losing or doubling a stanza.
import { describe, expect, it } from 'vitest';
import type { ResumptionRecord } from '../../src/state/resumption.js';
import { useBackend, type BackendFactory } from './helpers.js';

const USER = 'alice@localhost';
let counter = 0;

function record(owner: string): ResumptionRecord {
  counter += 1;
  return { token: `tok${counter}`, full_jid: `${USER}/phone`, session_id: `s${counter}`, owner, inbound: 0, acked: 0, sent: 0, detached_at: 0 };
}

const stanza = (seq: number, text: string) => ({ seq, xml: `<message><body>${text}</body></message>`, stamp: 1000 + seq });

export function resumptionContract(makeBackend: BackendFactory): void {
  describe('ResumptionStore contract', () => {
    const backend = useBackend(makeBackend);

    it('queues a stanza only for the node that owns the stream', async () => {
      const stream = record('n1');
      await backend().resumption.create(USER, stream);
      await expect(backend().resumption.append(USER, stream.token, 'n1', stanza(1, 'one'))).resolves.toBe(true);
      await expect(backend().resumption.append(USER, stream.token, 'n2', stanza(2, 'two'))).resolves.toBe(false);
      await expect(backend().resumption.append(USER, 'unknown', 'n1', stanza(1, 'x'))).resolves.toBe(false);
      const snapshot = await backend().resumption.takeOver(USER, stream.token, 'n1');
      expect(snapshot?.queue.map((item) => item.seq)).toEqual([1]);
      expect(snapshot?.record.sent).toBe(1);
    });

    it('drops what the client acknowledged and never lowers the counters', async () => {
      const stream = record('n1');
      await backend().resumption.create(USER, stream);
      for (let seq = 1; seq <= 4; seq++) await backend().resumption.append(USER, stream.token, 'n1', stanza(seq, `m${seq}`));
      await backend().resumption.ack(USER, stream.token, 2, 7);
      await backend().resumption.ack(USER, stream.token, 1, 3);
      const snapshot = await backend().resumption.takeOver(USER, stream.token, 'n1');
      expect(snapshot?.queue.map((item) => item.seq)).toEqual([3, 4]);
      expect(snapshot?.record).toMatchObject({ acked: 2, inbound: 7, sent: 4 });
    });

    it('detaches a stream only while the expected node owns it, raising the handled count but never lowering it', async () => {
      const stream = record('n1');
      await backend().resumption.create(USER, stream);
      await backend().resumption.ack(USER, stream.token, 0, 5);
      await expect(backend().resumption.detach(USER, stream.token, '', 3, 123, 'n2')).resolves.toBe(false);
      await expect(backend().resumption.get(USER, stream.token)).resolves.toMatchObject({ owner: 'n1', detached_at: 0, inbound: 5 });
      await expect(backend().resumption.detach(USER, stream.token, '', 3, 123, 'n1')).resolves.toBe(true);
      await expect(backend().resumption.get(USER, stream.token)).resolves.toMatchObject({ owner: '', detached_at: 123, inbound: 5 });
      await expect(backend().resumption.detach(USER, stream.token, '', 9, 124)).resolves.toBe(true);
      await expect(backend().resumption.get(USER, stream.token)).resolves.toMatchObject({ inbound: 9 });
      await expect(backend().resumption.detach(USER, 'unknown', '', 1, 1)).resolves.toBe(false);
      await expect(backend().resumption.get(USER, 'unknown')).resolves.toBeUndefined();
    });

    it('numbers stanzas queued for a parked stream after the last one, and refuses them once a node took it over', async () => {
      const stream = record('n1');
      await backend().resumption.create(USER, stream);
      await backend().resumption.append(USER, stream.token, 'n1', stanza(1, 'before'));
      await backend().resumption.detach(USER, stream.token, '', 0, 50, 'n1');
      await expect(backend().resumption.append(USER, stream.token, 'n1', stanza(2, 'late'))).resolves.toBe(false);
      await expect(backend().resumption.append(USER, stream.token, '', stanza(0, 'parked a'))).resolves.toBe(true);
      await expect(backend().resumption.append(USER, stream.token, '', stanza(0, 'parked b'))).resolves.toBe(true);
      const snapshot = await backend().resumption.takeOver(USER, stream.token, 'n2');
      expect(snapshot?.queue.map((item) => [item.seq, item.xml.includes('parked')])).toEqual([
        [1, false],
        [2, true],
        [3, true],
      ]);
      expect(snapshot?.record).toMatchObject({ owner: 'n2', detached_at: 0, sent: 3 });
      await expect(backend().resumption.append(USER, stream.token, '', stanza(0, 'too late'))).resolves.toBe(false);
      await expect(backend().resumption.append(USER, stream.token, 'n2', stanza(4, 'new owner'))).resolves.toBe(true);
    });

    it('queues a stanza with a given identity once, also for a parked stream, and tells the new owner what was given', async () => {
      const stream = record('n1');
      await backend().resumption.create(USER, stream);
      const identified = (seq: number, id: string) => ({ ...stanza(seq, id), id });
      await expect(backend().resumption.append(USER, stream.token, 'n1', identified(1, 'bob:5'))).resolves.toBe(true);
      await expect(backend().resumption.append(USER, stream.token, 'n1', identified(2, 'bob:7'))).resolves.toBe(true);
      await backend().resumption.detach(USER, stream.token, '', 0, 50, 'n1');
      // A copy that comes again (a dead node's inbox re-routed): handled, not queued.
      await expect(backend().resumption.append(USER, stream.token, '', identified(0, 'bob:5'))).resolves.toBe(true);
      // One that overtook its predecessor does not make the predecessor look given.
      await expect(backend().resumption.append(USER, stream.token, '', identified(0, 'bob:6'))).resolves.toBe(true);
      await expect(backend().resumption.append(USER, stream.token, '', identified(0, 'carol:5'))).resolves.toBe(true);
      await expect(backend().resumption.append(USER, stream.token, '', identified(0, 'bob:6'))).resolves.toBe(true);
      const snapshot = await backend().resumption.takeOver(USER, stream.token, 'n2');
      expect(snapshot?.queue.map((item) => [item.seq, item.id])).toEqual([
        [1, 'bob:5'],
        [2, 'bob:7'],
        [3, 'bob:6'],
        [4, 'carol:5'],
      ]);
      expect(Object.keys(snapshot?.delivered ?? {}).sort()).toEqual(['bob', 'carol']);
    });

    it('raises the epoch on every takeover and refuses an append from an older one, even from the same node id', async () => {
      const stream = record('n1');
      await backend().resumption.create(USER, stream);
      const first = await backend().resumption.takeOver(USER, stream.token, 'n1');
      const second = await backend().resumption.takeOver(USER, stream.token, 'n1');
      expect((second?.record.epoch ?? 0) - (first?.record.epoch ?? 0)).toBe(1);
      await expect(backend().resumption.append(USER, stream.token, 'n1', stanza(1, 'stale'), first?.record.epoch)).resolves.toBe(false);
      await expect(backend().resumption.append(USER, stream.token, 'n1', stanza(1, 'current'), second?.record.epoch)).resolves.toBe(true);
      const snapshot = await backend().resumption.takeOver(USER, stream.token, 'n2');
      expect(snapshot?.queue.map((item) => item.xml.includes('current'))).toEqual([true]);
    });

    it('lets hibernation expiry take only a stream that is still detached', async () => {
      const stream = record('n1');
      await backend().resumption.create(USER, stream);
      await expect(backend().resumption.takeOver(USER, stream.token, 'n3', { onlyIfDetached: true })).resolves.toBeUndefined();
      await backend().resumption.detach(USER, stream.token, 'n1', 0, 77, 'n1');
      const taken = await backend().resumption.takeOver(USER, stream.token, 'n3', { onlyIfDetached: true });
      expect(taken?.record).toMatchObject({ owner: 'n3', detached_at: 0 });
      // Taken: a second expiry (or a resumption that lost the race) finds it attached.
      await expect(backend().resumption.takeOver(USER, stream.token, 'n4', { onlyIfDetached: true })).resolves.toBeUndefined();
    });

    it('forgets a deleted stream entirely', async () => {
      const stream = record('n1');
      await backend().resumption.create(USER, stream);
      await backend().resumption.append(USER, stream.token, 'n1', stanza(1, 'one'));
      await backend().resumption.delete(USER, stream.token);
      await expect(backend().resumption.get(USER, stream.token)).resolves.toBeUndefined();
      await expect(backend().resumption.takeOver(USER, stream.token, 'n1')).resolves.toBeUndefined();
      await expect(backend().resumption.append(USER, stream.token, '', stanza(0, 'x'))).resolves.toBe(false);
    });

    it('keeps the resumption token in the session registry, where a parked record is found by', async () => {
      const full = `${USER}/tablet`;
      await backend().registry.claim({ full_jid: full, node: 'n1', session_id: 'sess', priority: 0, interested: false, carbons: false, blocklist_interested: false });
      await expect(backend().registry.update(full, 'sess', { sm_token: 'the-token' })).resolves.toBe(true);
      await expect(backend().registry.get(full)).resolves.toMatchObject({ sm_token: 'the-token' });
      await backend().registry.release(full, 'sess');
    });
  });
}
