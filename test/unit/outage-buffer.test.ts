// OutageBuffer: envelopes for other nodes wait, in order and bounded, while the bus is down.
import { afterEach, describe, expect, it } from 'vitest';
import { OutageBuffer, type PendingLimits } from '../../src/core/outage-buffer.js';
import type { BusEnvelope, BusSendOutcome, NodeBus } from '../../src/state/bus.js';
import { noTelemetry, type PendingOutcome } from '../../src/telemetry.js';

/** A bus that delivers into an array, or fails while `up` is false; envelopes whose id is in `moved` are refused. */
class SwitchableBus implements NodeBus {
  up = true;
  readonly moved = new Set<string>();
  readonly sent: Array<{ node: string; id: string }> = [];
  async start(): Promise<void> {}
  async send(node: string, envelope: BusEnvelope): Promise<BusSendOutcome> {
    if (!this.up) throw new Error('bus down');
    if (this.moved.has(envelope.id)) return 'moved';
    this.sent.push({ node, id: envelope.id });
    return 'sent';
  }
  async takeInbox(): Promise<number> {
    return 0;
  }
  async takeFor(): Promise<BusEnvelope[]> {
    return [];
  }
  async close(): Promise<void> {}
}

const stanza = (id: string, bytes = 10): BusEnvelope => ({ kind: 'stanza', id, to: 'bob@localhost/x', xml: `<message>${'x'.repeat(bytes)}</message>`, hops: 0 });

const until = async (condition: () => boolean, ms = 2000): Promise<void> => {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

describe('OutageBuffer', () => {
  const buses: OutageBuffer[] = [];
  afterEach(async () => {
    for (const bus of buses.splice(0)) await bus.close();
  });

  const make = (limits: Partial<PendingLimits> = {}) => {
    const inner = new SwitchableBus();
    const givenUp: Array<{ id: string; reason: Exclude<PendingOutcome, 'sent'> }> = [];
    const outcomes: PendingOutcome[] = [];
    const rerouted: string[] = [];
    const telemetry = { ...noTelemetry, pendingEnvelope: (outcome: PendingOutcome) => void outcomes.push(outcome) };
    const bus = new OutageBuffer(
      inner,
      { maxEnvelopes: 100, maxBytes: 1 << 20, maxWaitMs: 10_000, retryMs: 10, ...limits },
      async (envelope, reason) => void givenUp.push({ id: envelope.id, reason }),
      async (envelope) => void rerouted.push(envelope.id),
      telemetry,
      () => {},
    );
    buses.push(bus);
    return { inner, bus, givenUp, outcomes, rerouted };
  };

  it('answers a refusal at once, and routes one refused after waiting again', async () => {
    const { inner, bus, rerouted } = make();
    inner.moved.add('now');
    await expect(bus.send('n1', stanza('now'))).resolves.toBe('moved');
    inner.up = false;
    await expect(bus.send('n1', stanza('held'))).resolves.toBe('sent');
    await expect(bus.send('n1', stanza('after'))).resolves.toBe('sent');
    inner.moved.add('held');
    inner.up = true;
    await until(() => inner.sent.length === 1);
    expect(rerouted).toEqual(['held']);
    expect(inner.sent).toEqual([{ node: 'n1', id: 'after' }]);
  });

  it('sends at once while the bus works, holding nothing', async () => {
    const { inner, bus } = make();
    await bus.send('n1', stanza('a'));
    expect(inner.sent).toEqual([{ node: 'n1', id: 'a' }]);
    expect(bus.size).toBe(0);
  });

  it('holds envelopes while the bus is down and sends them in order once it is back', async () => {
    const { inner, bus, outcomes, givenUp } = make();
    inner.up = false;
    for (const id of ['a', 'b', 'c']) await bus.send(id === 'b' ? 'n2' : 'n1', stanza(id));
    expect(bus.size).toBe(3);
    inner.up = true;
    // Sent after the held ones, never ahead of them.
    await bus.send('n1', stanza('d'));
    await until(() => inner.sent.length === 4);
    expect(inner.sent.map((entry) => entry.id)).toEqual(['a', 'b', 'c', 'd']);
    expect(inner.sent[1]?.node).toBe('n2');
    expect(outcomes.filter((outcome) => outcome === 'sent')).toHaveLength(4);
    expect(givenUp).toEqual([]);
  });

  it('bounces at once what finds the queue full, by count or by bytes', async () => {
    const byCount = make({ maxEnvelopes: 2 });
    byCount.inner.up = false;
    for (const id of ['a', 'b', 'c']) await byCount.bus.send('n1', stanza(id));
    expect(byCount.givenUp).toEqual([{ id: 'c', reason: 'overflow' }]);
    const byBytes = make({ maxBytes: 100 });
    byBytes.inner.up = false;
    await byBytes.bus.send('n1', stanza('small', 10));
    await byBytes.bus.send('n1', stanza('large', 200));
    expect(byBytes.givenUp).toEqual([{ id: 'large', reason: 'overflow' }]);
    expect(byBytes.bus.size).toBe(1);
  });

  it('bounces what waited longer than the bound, and keeps what did not', async () => {
    const { inner, bus, givenUp, outcomes } = make({ maxWaitMs: 50 });
    inner.up = false;
    await bus.send('n1', stanza('old'));
    await new Promise((resolve) => setTimeout(resolve, 80));
    await bus.send('n1', stanza('new'));
    await until(() => givenUp.length === 1);
    expect(givenUp).toEqual([{ id: 'old', reason: 'expired' }]);
    inner.up = true;
    await until(() => inner.sent.length === 1);
    expect(inner.sent[0]?.id).toBe('new');
    expect(outcomes).toEqual(['expired', 'sent']);
  });

  it('on close sends what it can and bounces the rest, holding nothing after', async () => {
    const { inner, bus, givenUp } = make({ retryMs: 60_000 });
    inner.up = false;
    await bus.send('n1', stanza('a'));
    await bus.close();
    expect(givenUp).toEqual([{ id: 'a', reason: 'expired' }]);
    expect(bus.size).toBe(0);
    const again = make({ retryMs: 60_000 });
    again.inner.up = false;
    await again.bus.send('n1', stanza('b'));
    again.inner.up = true;
    await again.bus.close();
    expect(again.inner.sent.map((entry) => entry.id)).toEqual(['b']);
    expect(again.givenUp).toEqual([]);
  });
});
