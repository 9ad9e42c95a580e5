// The NodeBus contract (src/state/bus.ts): at-least-once delivery into a node's inbox, duplicates
// dropped by id, order kept from one sender to one receiver, and a dead node's inbox handed to
// whoever takes it.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { BusEnvelope, NodeBus, NodeInbox } from '../../src/state/bus.js';

/** Opens a bus for `nodeId` on the shared store; the suite closes what it opens. */
export type BusFactory = (nodeId: string) => Promise<NodeBus>;

const fresh = (label: string): string => `${label}-${randomBytes(4).toString('hex')}`;
const stanza = (id: string, to = 'bob@localhost/desk'): Extract<BusEnvelope, { kind: 'stanza' }> => ({ kind: 'stanza', id, to, xml: `<message id='${id}'/>`, hops: 0 });

/** An inbox that records what it handles and can wait for one envelope id (rejects after `timeoutMs`). */
function recordingInbox(): NodeInbox & { ids: string[]; handled(id: string, timeoutMs?: number): Promise<void> } {
  const ids: string[] = [];
  const waiters = new Map<string, () => void>();
  return {
    ids,
    async receive(envelope) {
      ids.push(envelope.id);
      waiters.get(envelope.id)?.();
    },
    handled(id, timeoutMs = 5_000) {
      if (ids.includes(id)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`envelope ${id} was not handled within ${timeoutMs} ms`)), timeoutMs);
        waiters.set(id, () => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}

export function busContract(openBus: BusFactory): void {
  describe('NodeBus contract', () => {
    async function pair(): Promise<{ sender: NodeBus; receiver: NodeBus; receiverId: string; inbox: ReturnType<typeof recordingInbox>; close(): Promise<void> }> {
      const receiverId = fresh('receiver');
      const sender = await openBus(fresh('sender'));
      const receiver = await openBus(receiverId);
      const inbox = recordingInbox();
      await receiver.start(inbox);
      return { sender, receiver, receiverId, inbox, close: async () => void (await Promise.all([sender.close(), receiver.close()])) };
    }

    it('hands an envelope sent to a node to that node’s inbox', async () => {
      const { sender, receiverId, inbox, close } = await pair();
      try {
        const id = fresh('e');
        await sender.send(receiverId, stanza(id));
        await inbox.handled(id);
        expect(inbox.ids).toStrictEqual([id]);
      } finally {
        await close();
      }
    });

    it('hands the envelopes of one sender to one receiver in the order sent', async () => {
      const { sender, receiverId, inbox, close } = await pair();
      try {
        const ids = Array.from({ length: 50 }, (_, i) => fresh(`e${i}`));
        await Promise.all(ids.map((id) => sender.send(receiverId, stanza(id))));
        await inbox.handled(ids[ids.length - 1] as string);
        expect(inbox.ids).toStrictEqual(ids);
      } finally {
        await close();
      }
    });

    it('handles an envelope sent twice with the same id once', async () => {
      const { sender, receiverId, inbox, close } = await pair();
      try {
        const id = fresh('twice');
        const marker = fresh('marker');
        await sender.send(receiverId, stanza(id));
        await sender.send(receiverId, stanza(id));
        await sender.send(receiverId, stanza(marker));
        await inbox.handled(marker);
        expect(inbox.ids).toStrictEqual([id, marker]);
      } finally {
        await close();
      }
    });

    it('hands what is left in a node’s inbox to whoever takes it, once', async () => {
      const deadId = fresh('dead');
      const sender = await openBus(fresh('sender'));
      const taker = await openBus(fresh('taker'));
      try {
        const ids = [fresh('left'), fresh('left')];
        for (const id of ids) await sender.send(deadId, stanza(id));
        const inbox = recordingInbox();
        await expect(taker.takeInbox(deadId, inbox)).resolves.toBe(2);
        expect(inbox.ids).toStrictEqual(ids);
        await expect(taker.takeInbox(deadId, recordingInbox())).resolves.toBe(0);
      } finally {
        await Promise.all([sender.close(), taker.close()]);
      }
    });

    it('takes the stanzas for one resource out of a node’s inbox, in order, once, leaving the rest', async () => {
      const deadId = fresh('dead');
      const sender = await openBus(fresh('sender'));
      const taker = await openBus(fresh('taker'));
      try {
        const mine = [fresh('mine'), fresh('mine')];
        const other = fresh('other');
        await sender.send(deadId, stanza(mine[0] as string, 'bob@localhost/phone'));
        await sender.send(deadId, stanza(other));
        await sender.send(deadId, stanza(mine[1] as string, 'bob@localhost/phone'));
        expect((await taker.takeFor(deadId, [{ to: 'bob@localhost/phone' }])).map((envelope) => envelope.id)).toStrictEqual(mine);
        await expect(taker.takeFor(deadId, [{ to: 'bob@localhost/phone' }])).resolves.toStrictEqual([]);
        const inbox = recordingInbox();
        await expect(taker.takeInbox(deadId, inbox)).resolves.toBe(1);
        expect(inbox.ids).toStrictEqual([other]);
      } finally {
        await Promise.all([sender.close(), taker.close()]);
      }
    });

    it('refuses, once a session was taken over from a node, the stanzas sent to it for that session', async () => {
      const deadId = fresh('dead');
      const sender = await openBus(fresh('sender'));
      const taker = await openBus(fresh('taker'));
      try {
        const to = 'bob@localhost/phone';
        const before = { ...stanza(fresh('before'), to), sessionId: 's1' };
        await expect(sender.send(deadId, before)).resolves.toBe('sent');
        expect((await taker.takeFor(deadId, [{ to, sessionId: 's1' }])).map((envelope) => envelope.id)).toStrictEqual([before.id]);
        // Late senders: the session taken over is refused; another session of the resource, a
        // stanza naming no session, another resource and a kick still get in, in order.
        const late = { ...stanza(fresh('late'), to), sessionId: 's1' };
        const rebound = { ...stanza(fresh('rebound'), to), sessionId: 's2' };
        const unnamed = stanza(fresh('unnamed'), to);
        const other = { ...stanza(fresh('other'), 'ann@localhost/a'), sessionId: 's1' };
        const kick: BusEnvelope = { kind: 'kick', id: fresh('kick'), to, sessionId: 's1' };
        const outcomes = await Promise.all([late, rebound, unnamed, other, kick].map((envelope) => sender.send(deadId, envelope)));
        expect(outcomes).toStrictEqual(['moved', 'sent', 'sent', 'sent', 'sent']);
        const inbox = recordingInbox();
        await expect(taker.takeInbox(deadId, inbox)).resolves.toBe(4);
        expect(inbox.ids).toStrictEqual([rebound.id, unnamed.id, other.id, kick.id]);
      } finally {
        await Promise.all([sender.close(), taker.close()]);
      }
    });

    it('takes the stanzas for a resource whose name JSON escapes', async () => {
      const deadId = fresh('dead');
      const sender = await openBus(fresh('sender'));
      const taker = await openBus(fresh('taker'));
      try {
        const to = 'bob@localhost/say "hi" \\ there';
        const mine = fresh('mine');
        await sender.send(deadId, stanza(fresh('other'), 'bob@localhost/say '));
        await sender.send(deadId, stanza(mine, to));
        expect((await taker.takeFor(deadId, [{ to }])).map((envelope) => envelope.id)).toStrictEqual([mine]);
      } finally {
        await Promise.all([sender.close(), taker.close()]);
      }
    });

    it('does not refuse what was sent before a take that only looked (no session given)', async () => {
      const deadId = fresh('dead');
      const sender = await openBus(fresh('sender'));
      const taker = await openBus(fresh('taker'));
      try {
        const to = 'bob@localhost/phone';
        await expect(taker.takeFor(deadId, [{ to }])).resolves.toStrictEqual([]);
        await expect(sender.send(deadId, { ...stanza(fresh('after'), to), sessionId: 's1' })).resolves.toBe('sent');
      } finally {
        await Promise.all([sender.close(), taker.close()]);
      }
    });

    it('takes the stanzas for several resources in one scan, in inbox order, leaving the rest', async () => {
      const deadId = fresh('dead');
      const sender = await openBus(fresh('sender'));
      const taker = await openBus(fresh('taker'));
      try {
        const [a1, b1, other, a2] = [fresh('a'), fresh('b'), fresh('other'), fresh('a')] as [string, string, string, string];
        await sender.send(deadId, stanza(a1, 'ann@localhost/a'));
        await sender.send(deadId, stanza(b1, 'bob@localhost/b'));
        await sender.send(deadId, stanza(other, 'cy@localhost/c'));
        await sender.send(deadId, stanza(a2, 'ann@localhost/a'));
        const taken = await taker.takeFor(deadId, [{ to: 'ann@localhost/a' }, { to: 'bob@localhost/b' }]);
        expect(taken.map((envelope) => envelope.id)).toStrictEqual([a1, b1, a2]);
        await expect(taker.takeFor(deadId, [])).resolves.toStrictEqual([]);
        const inbox = recordingInbox();
        await expect(taker.takeInbox(deadId, inbox)).resolves.toBe(1);
        expect(inbox.ids).toStrictEqual([other]);
      } finally {
        await Promise.all([sender.close(), taker.close()]);
      }
    });
  });
}
