// The lanes an incoming s2s stream routes its stanzas in (src/s2s/lanes.ts): one sender's in order,
// different senders' at once, within a bound.
import { describe, expect, it } from 'vitest';
import { SenderLanes } from '../../src/s2s/lanes.js';

/** A task that starts when called and ends when `finish` is. */
function gate(log: string[], name: string): { task: () => Promise<void>; finish: () => void } {
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  return {
    task: async () => {
      log.push(`start ${name}`);
      await done;
      log.push(`end ${name}`);
    },
    finish: () => finish(),
  };
}
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('the sender lanes of an incoming s2s stream', () => {
  it("runs one sender's tasks one after the other, in order, and another sender's meanwhile", async () => {
    const log: string[] = [];
    const lanes = new SenderLanes(10, (err) => log.push(`error ${String(err)}`));
    const a1 = gate(log, 'a1');
    const a2 = gate(log, 'a2');
    const b1 = gate(log, 'b1');
    await lanes.submit('a@remote', a1.task);
    await lanes.submit('a@remote', a2.task);
    await lanes.submit('b@remote', b1.task);
    await turn();
    expect(log).toEqual(['start a1', 'start b1']);
    b1.finish();
    a1.finish();
    await turn();
    expect(log).toEqual(['start a1', 'start b1', 'end b1', 'end a1', 'start a2']);
    a2.finish();
    await lanes.idle();
    expect(log.at(-1)).toBe('end a2');
    expect(lanes.size).toBe(0);
  });

  it('admits at most `limit` tasks, the next once one ends', async () => {
    const log: string[] = [];
    const lanes = new SenderLanes(2, () => undefined);
    const gates = ['a', 'b', 'c'].map((name) => gate(log, name));
    await lanes.submit('a', (gates[0] as ReturnType<typeof gate>).task);
    await lanes.submit('b', (gates[1] as ReturnType<typeof gate>).task);
    let admitted = false;
    const third = lanes.submit('c', (gates[2] as ReturnType<typeof gate>).task).then(() => (admitted = true));
    await turn();
    expect([admitted, lanes.size]).toEqual([false, 2]);
    gates[0]?.finish();
    await third;
    await turn();
    expect(log).toContain('start c');
    gates[1]?.finish();
    gates[2]?.finish();
    await lanes.idle();
    expect(lanes.size).toBe(0);
  });

  it("reports a task that throws and goes on with that sender's next", async () => {
    const errors: unknown[] = [];
    const ran: string[] = [];
    const lanes = new SenderLanes(4, (err) => errors.push(err));
    await lanes.submit('a', async () => {
      throw new Error('boom');
    });
    await lanes.submit('a', async () => {
      ran.push('next');
    });
    await lanes.idle();
    expect(errors).toEqual([new Error('boom')]);
    expect(ran).toEqual(['next']);
  });
});
