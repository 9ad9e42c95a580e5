// A resumable session whose node drains (SIGTERM) or dies is parked: its registry record names
// no node (PARKED_NODE), the ResumptionStore holds its queue, and any node may resume it.
import type { C2SSession } from '../../core/session.js';
import type { OrphanCollector } from '../../core/events.js';
import { queueStranded } from '../../core/orphans.js';
import type { TakenResource } from '../../state/bus.js';
import type { SessionRecord } from '../../state/sessions.js';
import { bareOf } from '../../xmpp/jid-string.js';
import { type Context, parkRecord, releaseConnection, scheduleExpiry, streamOf } from './context.js';

/**
 * Hands a session over to whichever node its client reconnects to (this node is draining): a
 * last ack request, then nothing more is written to the client or read from it, the counters go
 * to the ResumptionStore, no node owns the stream, and the registry record is parked.
 */
export async function park(ctx: Context, session: C2SSession, ackWaitMs: number): Promise<boolean> {
  const { host } = ctx;
  const stream = streamOf(session);
  if (stream?.detached) await stream.detached;
  if (session.destroyed) return true;
  if (!stream?.token || session.full_jid === undefined || stream.phase === 'ending') return false;
  if (stream.phase === 'parked') return true;
  const attached = stream.phase === 'attached';
  stream.phase = 'parked';
  const token = stream.token;
  const user = stream.user;
  if (attached) {
    if (ackWaitMs > 0) await stream.settle(ackWaitMs);
    await releaseConnection(stream, session);
    // What the client did not acknowledge even when asked may never have reached it.
    await stream.heldUnacknowledged('parked');
  }
  await stream.persistCounters();
  // First, so that a stream left without owner by a failure half-way still ends some day.
  await scheduleExpiry(ctx, user, token);
  ctx.resumable.delete(token);
  if (await host.state.resumption.detach(user, token, '', stream.inbound, Date.now(), host.nodeId)) {
    // From here on this node's appends are refused, and go to the parked queue (onRefused).
    // What this node's inbox still holds for the resource (a busy node reads it late) goes to the
    // queue before anything routed to the parked stream, as for a dead node's session.
    await moveStranded(ctx, host.nodeId, { to: session.full_jid }, user, token);
    await parkRecord(host, session.full_jid, session.id, host.nodeId, token);
    // Marked moved: a sender whose cache still names this node is refused and finds the parked queue.
    await moveStranded(ctx, host.nodeId, { to: session.full_jid, sessionId: session.id }, user, token);
  }
  host.local.forget(session);
  host.log.info({ event: 'sm_parked', session: session.id, queued: stream.queue.length });
  return true;
}

/** A dead node's resumable session is parked instead of ended: its client may still resume. */
export async function parkOrphan(ctx: Context, record: SessionRecord, orphans: OrphanCollector): Promise<boolean> {
  const { host } = ctx;
  if (record.sm_token === undefined) return false;
  const user = bareOf(record.full_jid);
  const token = record.sm_token;
  const known = await host.state.resumption.get(user, token);
  if (!known || known.session_id !== record.session_id) return false;
  // Resumed on a live node meanwhile: the record is no longer the dead node's to clean up.
  if (known.owner !== '' && known.owner !== record.node) return true;
  await scheduleExpiry(ctx, user, token);
  if (!(await host.state.resumption.detach(user, token, '', known.inbound, Date.now(), known.owner))) return true;
  // What the dead node's inbox holds for the resource is older than anything routed to the parked
  // stream: it goes to the queue before the record is parked, with every orphan's in one scan of
  // the inbox (core/orphans.ts).
  orphans.add({ fullJid: record.full_jid, sessionId: record.session_id, user, token, park: () => parkRecord(host, record.full_jid, record.session_id, record.node, token) });
  return true;
}

/** Stanza envelopes for `fullJid` left in `node`'s inbox (this node's own, while it drains), moved to the parked stream's queue in order. */
async function moveStranded(ctx: Context, node: string, resource: TakenResource, user: string, token: string): Promise<void> {
  const { host } = ctx;
  if (!host.bus) return;
  const moved = await queueStranded(host, user, token, await host.bus.takeFor(node, [resource]));
  if (moved > 0) host.log.info({ event: 'sm_stranded_parked', node, count: moved });
}
