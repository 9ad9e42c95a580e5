// The per-session gate of versioned state pushes (src/core/state-push.ts, doc/ordering.md).
import { describe, expect, it } from 'vitest';
import { ALL_KEYS, PushGate } from '../../src/core/push-gate.js';
import type { StatePush } from '../../src/state/bus.js';

const roster = (version: number, ...keys: string[]): StatePush => ({ state: 'roster', version, keys });
const blocklist = (version: number, ...keys: string[]): StatePush => ({ state: 'blocklist', version, keys });

describe('PushGate', () => {
  it('delivers pushes that arrive in version order', () => {
    const gate = new PushGate();
    for (const push of [roster(1, 'a'), roster(2, 'b'), roster(3, 'a')]) {
      expect(gate.judge(push, true)).toStrictEqual({ kind: 'deliver' });
      gate.delivered(push);
    }
  });

  it('drops a push of a key that was already shown at a newer version', () => {
    const gate = new PushGate();
    gate.delivered(roster(4, 'a'));
    expect(gate.judge(roster(3, 'a'), true)).toStrictEqual({ kind: 'drop' });
  });

  it('drops a push no newer than the fetched state', () => {
    const gate = new PushGate();
    gate.fetched('roster', 7);
    expect(gate.judge(roster(7, 'a'), true)).toStrictEqual({ kind: 'drop' });
    expect(gate.judge(roster(8, 'a'), true)).toStrictEqual({ kind: 'deliver' });
  });

  it('re-reads a roster push that is new for its contact but older than a push already shown', () => {
    const gate = new PushGate();
    gate.delivered(roster(5, 'b'));
    expect(gate.judge(roster(4, 'a'), true)).toStrictEqual({ kind: 'reread', keys: ['a'] });
  });

  it('delivers a blocklist push older than another key, as blocklist pushes show no version', () => {
    const gate = new PushGate();
    gate.delivered(blocklist(5, 'x@example.net'));
    expect(gate.judge(blocklist(4, 'y@example.net'), false)).toStrictEqual({ kind: 'deliver' });
  });

  it('narrows a blocklist push to the items that are still new', () => {
    const gate = new PushGate();
    gate.delivered(blocklist(5, 'x@example.net'));
    expect(gate.judge(blocklist(4, 'x@example.net', 'y@example.net'), false)).toStrictEqual({ kind: 'narrow', keys: ['y@example.net'] });
  });

  it('treats unblock-everything as covering every item, and re-reads one that was outrun by an item', () => {
    const gate = new PushGate();
    gate.delivered(blocklist(6, ALL_KEYS));
    expect(gate.judge(blocklist(5, 'x@example.net'), false)).toStrictEqual({ kind: 'drop' });
    gate.delivered(blocklist(8, 'x@example.net'));
    expect(gate.judge(blocklist(7, ALL_KEYS), false)).toStrictEqual({ kind: 'reread', keys: [ALL_KEYS] });
  });

  it('keeps the roster and the blocklist apart', () => {
    const gate = new PushGate();
    gate.delivered(roster(9, 'a'));
    expect(gate.judge(blocklist(1, 'a'), false)).toStrictEqual({ kind: 'deliver' });
  });
});
