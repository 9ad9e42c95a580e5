// XEP-0198 §5: a resumable session whose connection is lost hibernates on its node until its
// client resumes or its time is up (a delayed job); after the store lost data, its record is
// written back.
import type { C2SSession } from '../../core/session.js';
import { QUIESCE_MS, type Context, scheduleExpiry, streamOf } from './context.js';
import type { Stream } from './stream.js';
import { retire } from './resume.js';
import { settleUnacked } from './unacked.js';

/** Keeps a resumable session whose connection was lost (pre-resource-unbind veto). */
export async function hibernate(ctx: Context, session: C2SSession): Promise<boolean> {
  const stream = streamOf(session);
  if (!stream?.token || stream.phase === 'ending') return false;
  if (stream.phase !== 'attached') return true;
  stream.phase = 'detaching';
  stream.stop();
  // Not waited for: the hibernation goes on while the pushes are claimed.
  void stream.heldUnacknowledged('hibernating');
  // A resumption or a drain that comes meanwhile waits for this to finish.
  const detached = detach(ctx, session, stream, stream.token);
  stream.detached = detached;
  try {
    return await detached;
  } finally {
    if (stream.detached === detached) stream.detached = undefined;
  }
}

async function detach(ctx: Context, session: C2SSession, stream: Stream, token: string): Promise<boolean> {
  const { host } = ctx;
  const user = stream.user;
  // A session that a newer bind of its resource replaced is over: nothing could resume it.
  const record = await host.state.registry.get(session.full_jid as string, { fresh: true });
  if (!record || record.session_id !== session.id) {
    stream.phase = 'ending';
    return false;
  }
  await stream.quiesce(QUIESCE_MS);
  if (stream.phase === 'detaching') stream.phase = 'hibernating';
  await stream.persistCounters();
  await scheduleExpiry(ctx, user, token);
  if (!(await host.state.resumption.detach(user, token, host.nodeId, stream.inbound, Date.now(), host.nodeId))) {
    // Another node resumed it meanwhile: this session is a leftover.
    await host.hooks.fire('stream-taken-over', { session });
    return true;
  }
  host.log.info({ event: 'sm_hibernating', session: session.id });
  return true;
}

/**
 * The store lost data: a resumable stream this node serves (attached or hibernating) gets its
 * record, its unacknowledged queue (this node keeps a copy) and its expiry back, so its client
 * can still resume it, here or on another node.
 */
export async function restoreStream(ctx: Context, session: C2SSession): Promise<void> {
  const { host } = ctx;
  const stream = streamOf(session);
  const token = stream?.token;
  if (!stream || token === undefined || stream.phase === 'ending' || stream.phase === 'parked') return;
  await host.local.patchRecord(session, { sm_token: token });
  const user = stream.user;
  if (await host.state.resumption.get(user, token)) return;
  await host.state.resumption.create(user, {
    token,
    full_jid: session.full_jid as string,
    session_id: session.id,
    owner: host.nodeId,
    inbound: stream.inbound,
    acked: stream.acked,
    sent: stream.acked,
    detached_at: 0,
    epoch: stream.epoch,
  });
  for (const stanza of stream.queue) await host.state.resumption.append(user, token, host.nodeId, stanza, stream.epoch);
  if (stream.phase === 'hibernating' || stream.phase === 'detaching') {
    await host.state.resumption.detach(user, token, host.nodeId, stream.inbound, Date.now(), host.nodeId);
    await scheduleExpiry(ctx, user, token);
  }
  host.log.info({ event: 'sm_restored', session: session.id, queued: stream.queue.length });
}

/** The hibernation time is up: the session ends, and what it never acknowledged is settled. */
export async function expire(ctx: Context, user: string, token: string): Promise<void> {
  const { host } = ctx;
  const local = ctx.resumable.get(token);
  const stream = local ? streamOf(local) : undefined;
  if (local && stream && !local.destroyed && stream.phase !== 'parked') {
    if (stream.phase !== 'hibernating' && stream.phase !== 'detaching') return; // resumed meanwhile
    stream.phase = 'ending';
    await host.local.destroy(local, 'Hibernating too long');
    return;
  }
  // Only a stream still detached: one whose client came back meanwhile is not taken.
  const snapshot = await host.state.resumption.takeOver(user, token, host.nodeId, { onlyIfDetached: true });
  if (!snapshot) return;
  const known = snapshot.record;
  const record = await host.state.registry.get(known.full_jid, { fresh: true });
  if (record && record.session_id === known.session_id) {
    await retire(host, record, `${token}.expire`);
    if (await host.state.registry.release(record.full_jid, record.session_id)) {
      await host.hooks.fire('resource-lost', { record, reason: 'Hibernating too long' });
    }
  }
  await settleUnacked(host, known.full_jid, snapshot.queue);
  await host.state.resumption.delete(user, token);
}
