// The versions of shared state (roster, blocklist) one session has been shown, so that an older
// push reaching it later is dropped, narrowed or read again (core/state-push.ts, doc/ordering.md).
import type { PushedState, StatePush } from '../state/bus.js';

/** The key of a push that covers every key of its state (an XEP-0191 unblock of everything). */
export const ALL_KEYS = '*';

export type Verdict = { kind: 'deliver' } | { kind: 'drop' } | { kind: 'narrow'; keys: string[] } | { kind: 'reread'; keys: string[] };

interface Marks {
  /** The version of the state the client fetched: every key is at least this new. */
  floor: number;
  highest: number;
  seen: Map<string, number>;
}

/** The versions one session has been shown; lives on the C2SSession, so only on its owning node. */
export class PushGate {
  private readonly marks = new Map<PushedState, Marks>();

  private of(state: PushedState): Marks {
    let marks = this.marks.get(state);
    if (!marks) {
      marks = { floor: 0, highest: 0, seen: new Map() };
      this.marks.set(state, marks);
    }
    return marks;
  }

  /** The client received the whole state at `version` (a roster get, a blocklist get). */
  fetched(state: PushedState, version: number): void {
    const marks = this.of(state);
    marks.floor = Math.max(marks.floor, version);
    marks.highest = Math.max(marks.highest, version);
    for (const [key, seen] of marks.seen) if (seen <= marks.floor) marks.seen.delete(key);
  }

  judge(push: StatePush, visibleVersion: boolean): Verdict {
    const marks = this.of(push.state);
    const all = Math.max(marks.floor, marks.seen.get(ALL_KEYS) ?? 0);
    if (push.keys.includes(ALL_KEYS)) {
      if (push.version <= all) return { kind: 'drop' };
      // Newer than the last "everything", but some key has moved on since: only the store knows the list.
      for (const seen of marks.seen.values()) if (seen >= push.version) return { kind: 'reread', keys: [ALL_KEYS] };
      if (visibleVersion && push.version < marks.highest) return { kind: 'reread', keys: [ALL_KEYS] };
      return { kind: 'deliver' };
    }
    const fresh = push.keys.filter((key) => push.version > Math.max(all, marks.seen.get(key) ?? 0));
    if (fresh.length === 0) return { kind: 'drop' };
    if (visibleVersion && push.version < marks.highest) return { kind: 'reread', keys: fresh };
    if (fresh.length < push.keys.length) return { kind: 'narrow', keys: fresh };
    return { kind: 'deliver' };
  }

  delivered(push: StatePush): void {
    const marks = this.of(push.state);
    marks.highest = Math.max(marks.highest, push.version);
    if (push.keys.includes(ALL_KEYS)) {
      this.fetched(push.state, push.version);
      return;
    }
    for (const key of push.keys) marks.seen.set(key, Math.max(push.version, marks.seen.get(key) ?? 0));
  }
}
