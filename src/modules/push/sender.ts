// Sending push notifications (XEP-0357 §7) with retries, from any node. Each try is a job (BullMQ
// on Redis, timers on the embedded store): it schedules the next try first, as a safety net that
// fires after the answer timeout plus the backoff even if this node dies, then sends the publish
// and returns. The answer comes to the domain, on whichever node holds the app server's route;
// the iq id names the sending node (`push:<node>:<random>`), so another node forwards it there.
// A result cancels the next try; a temporary error brings it forward to the backoff; a permanent
// error (item-not-found, not-authorized…) cancels it and disables the registration.
import type { Element } from 'ltx';
import type { Host } from '../../core/host.js';
import { newEnvelopeId } from '../../core/envelope-id.js';
import { randomId } from '../../random-id.js';
import type { JobPayloads } from '../../state/scheduler.js';
import { StanzaError, type StanzaErrorCondition } from '../../xmpp/errors.js';
import { stanzaType } from '../../xmpp/stanza.js';
import { publishIq } from './notify.js';

/** Tries in all; the waits between them double from BACKOFF_MS (1, 2, 4, 8 s). */
export const PUSH_ATTEMPTS = 5;
const BACKOFF_MS = 1000;
const ID_PREFIX = 'push:';

/** Conditions of `cancel`, `auth` or `modify` errors that may pass: the route, not the registration, failed. */
const TEMPORARY: ReadonlySet<StanzaErrorCondition> = new Set([
  'remote-server-not-found',
  'remote-server-timeout',
  'internal-server-error',
  'resource-constraint',
  'service-unavailable',
  'recipient-unavailable',
  'undefined-condition',
]);

type Payload = JobPayloads['push-send'];

export function backoffMs(attempt: number): number {
  return BACKOFF_MS * 2 ** (attempt - 1);
}

function tryId(payload: Payload, attempt: number): string {
  return `push ${payload.user} ${payload.jid}\n${payload.node} ${payload.event} #${attempt}`;
}

/** The job id of a notification's first try. */
export function firstTryId(payload: Payload): string {
  return tryId(payload, 1);
}

/** A permanent error disables the registration; a temporary one (type `wait`, or TEMPORARY) retries. */
export function isPermanent(error: StanzaError | undefined): boolean {
  if (!error) return false;
  return error.type !== 'wait' && !TEMPORARY.has(error.condition);
}

interface Waiter {
  from: string;
  answer(stanza: Element | undefined): void;
}

export class PushSender {
  private readonly waiting = new Map<string, Waiter>();

  constructor(private readonly host: Host) {}

  /** The `push-send` job: one try. */
  async send(payload: Payload): Promise<void> {
    const { host } = this;
    const registration = (await host.state.push.list(payload.user)).find((entry) => entry.jid === payload.jid && entry.node === payload.node);
    if (!registration) return; // disabled meanwhile
    const last = payload.attempt >= PUSH_ATTEMPTS;
    const next = { ...payload, attempt: payload.attempt + 1 };
    const timeoutMs = host.config.limits.pushReplySeconds * 1000;
    if (!last) await host.jobs.schedule(tryId(payload, next.attempt), 'push-send', next, timeoutMs + backoffMs(payload.attempt));
    const id = `${ID_PREFIX}${host.nodeId}:${randomId(9)}`;
    const answered = new Promise<Element | undefined>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        resolve(undefined);
      }, timeoutMs);
      timer.unref();
      this.waiting.set(id, {
        from: registration.jid,
        answer: (stanza) => {
          clearTimeout(timer);
          resolve(stanza);
        },
      });
    });
    await host.router.send(publishIq(id, host.domain, registration, payload));
    // The job ends here; the answer (or its absence) is handled when it comes.
    void answered.then((answer) => this.settle(payload, answer, last)).catch((err: unknown) => host.log.error({ event: 'push_settle_failed', err }));
  }

  private async settle(payload: Payload, answer: Element | undefined, last: boolean): Promise<void> {
    const { host } = this;
    const nextId = tryId(payload, payload.attempt + 1);
    if (answer && stanzaType(answer) === 'result') {
      await host.jobs.cancel(nextId);
      host.telemetry.push('published');
      return;
    }
    const error = answer ? StanzaError.fromElement(answer.getChild('error')) : undefined;
    const condition = error?.condition ?? (answer ? 'undefined-condition' : 'timeout');
    if (answer && isPermanent(error ?? new StanzaError('undefined-condition', undefined, 'cancel'))) {
      await host.jobs.cancel(nextId);
      await host.state.push.disable(payload.user, payload.jid, payload.node);
      host.telemetry.push('disabled');
      host.log.info({ event: 'push_disabled', condition, attempt: payload.attempt });
      return;
    }
    if (last) {
      host.telemetry.push('gave_up');
      host.log.warn({ event: 'push_gave_up', condition, attempts: payload.attempt });
      return;
    }
    host.telemetry.push('retried');
    // A temporary error: sooner than the safety net (a timeout leaves the safety net as it is).
    if (answer) await host.jobs.schedule(nextId, 'push-send', { ...payload, attempt: payload.attempt + 1 }, backoffMs(payload.attempt));
  }

  /**
   * An iq result or error to the domain (`iq/host`): one of ours is taken, also when it names
   * another node, which it is forwarded to (while that node is alive). True when claimed.
   */
  async answered(stanza: Element): Promise<boolean> {
    const id = stanza.attrs.id;
    const type = stanzaType(stanza);
    if (typeof id !== 'string' || !id.startsWith(ID_PREFIX) || (type !== 'result' && type !== 'error')) return false;
    const node = id.slice(ID_PREFIX.length, id.lastIndexOf(':'));
    if (node === this.host.nodeId) {
      const waiter = this.waiting.get(id);
      // An answer from anyone but the app server asked is not the answer (a guessed id).
      if (waiter && stanza.attrs.from === waiter.from) {
        this.waiting.delete(id);
        waiter.answer(stanza);
      }
      return true;
    }
    const { bus, heartbeats } = this.host;
    if (bus && heartbeats && (await heartbeats.lastBeat(node)) !== undefined) {
      this.host.telemetry.busEnvelope('out');
      await bus.send(node, { kind: 'stanza', id: newEnvelopeId(), to: String(stanza.attrs.to ?? this.host.domain), xml: stanza.toString(), hops: 0, at: Date.now() });
    }
    return true;
  }
}
