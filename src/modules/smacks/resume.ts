// XEP-0198 §5: resuming a stream, on the node that kept it (hibernating, or still attached to a
// half-open connection) or on any other node (taken over from a parked stream, a dead node, or a
// live node that hands it over).
import { type Element, parse } from 'ltx';
import type { Host } from '../../core/host.js';
import type { C2SSession, StreamConnection } from '../../core/session.js';
import { refreshQueue } from '../../core/state-push.js';
import type { TakenResource } from '../../state/bus.js';
import { Delivered } from '../../state/delivered.js';
import type { QueuedStanza, ResumptionRecord, ResumptionSnapshot } from '../../state/resumption.js';
import { PARKED_NODE, type SessionRecord } from '../../state/sessions.js';
import { StreamError } from '../../xmpp/errors.js';
import { resourceOf } from '../../xmpp/jid-string.js';
import { NS_SM } from '../../xmpp/ns.js';
import { withDelay } from '../../xmpp/stanza.js';
import { type Context, delay, expiryJobId, failed, releaseConnection, resumeFailed, streamOf } from './context.js';
import { Stream } from './stream.js';

/**
 * A resumption waits at most this long for the stream's previous node to finish handing it
 * over (a drain in progress); past it, the stream is taken over anyway (the node is dead, or its
 * connection is half-open and it has not noticed yet).
 */
const HANDOVER_WAIT_MS = 2000;
/** The first look again; each next one twice as late, up to HANDOVER_POLL_MAX_MS (hundreds of clients resume at once after a kill). */
const HANDOVER_POLL_MS = 20;
const HANDOVER_POLL_MAX_MS = 160;
const HEARTBEAT_CHECK_MS = 200;

/** Whether `node`'s last heartbeat is older than two heartbeat intervals (or it is not live). */
async function silent(host: Host, node: string): Promise<boolean> {
  if (!host.heartbeats) return false;
  try {
    const last = await host.heartbeats.lastBeat(node);
    return last === undefined || Date.now() - last > 2 * host.config.heartbeatMs;
  } catch {
    return false;
  }
}
export function resume(ctx: Context, connection: StreamConnection, element: Element): Promise<void> {
  const session = connection.session;
  const work = resumeStream(ctx, connection, element);
  ctx.resuming.set(session, work);
  return work.then(
    () => void ctx.resuming.delete(session),
    (err: unknown) => {
      ctx.resuming.delete(session);
      throw err;
    },
  );
}

/** The session the connection carries after <resume/>, or undefined when it failed. */
async function resumeStream(ctx: Context, connection: StreamConnection, element: Element): Promise<C2SSession | undefined> {
  const { host } = ctx;
  const session = connection.session;
  const token = String(element.attrs.previd ?? '');
  const h = Number(element.attrs.h);
  if (session.type !== 'c2s_unbound' || session.bare_jid === undefined) {
    resumeFailed(host, connection, 'unexpected-request', 'unexpected-request');
    return undefined;
  }
  if (token === '' || !Number.isInteger(h) || h < 0) {
    failed(connection, 'bad-request');
    return undefined;
  }
  const local = ctx.resumable.get(token);
  if (local && local.bare_jid === session.bare_jid) {
    // A connection lost a moment ago may still be being detached: that finishes first.
    const stream = streamOf(local);
    if (stream?.detached) await stream.detached;
    if (stream && !local.destroyed && stream.phase !== 'parked' && stream.phase !== 'ending') return resumeLocal(ctx, connection, local, h);
  }
  return resumeElsewhere(ctx, connection, token, h);
}

/** The stream hibernates (or is still attached) on this node: swap its connection. */
async function resumeLocal(ctx: Context, connection: StreamConnection, old: C2SSession, h: number): Promise<C2SSession | undefined> {
  const { host } = ctx;
  const stream = streamOf(old) as Stream;
  const token = stream.token as string;
  const problem = stream.check(h);
  if (problem) {
    resumeFailed(host, connection, 'undefined-condition', 'unexpected-request', { h: String(stream.inbound) });
    stream.token = undefined;
    ctx.resumable.delete(token);
    old.close(new StreamError('undefined-condition', problem));
    await host.local.destroy(old, problem);
    return undefined;
  }
  if (stream.phase === 'attached') {
    // Its old connection is still open (half-open, as far as the client is concerned).
    stream.phase = 'detaching';
    await releaseConnection(stream, old);
  }
  await host.jobs.cancel(expiryJobId(stream.user, token));
  // Held while the epoch rises: an append sent with the old one after the takeover would be refused.
  stream.hold();
  try {
    const snapshot = await host.state.resumption.takeOver(stream.user, token, host.nodeId);
    if (snapshot) stream.epoch = snapshot.record.epoch ?? 0;
  } finally {
    stream.release();
  }
  stream.acknowledge(h);
  stream.phase = 'attached';
  connection.attachSession(old);
  finishResume(host, connection, stream, token);
  return old;
}

type Found =
  | { kind: 'unknown' }
  | { kind: 'gone'; known: ResumptionRecord; replaced: boolean }
  /** `unanswered`: its node never handed it over (dead, or a half-open connection it has not noticed). */
  | { kind: 'found'; known: ResumptionRecord; record: SessionRecord; unanswered: boolean };

/**
 * The stream's record and its registry record, once its previous node is done with it: parked,
 * hibernating, or on this node. A node still attached to it (draining, or a connection it thinks
 * is alive) gets HANDOVER_WAIT_MS.
 */
async function handedOver(host: Host, user: string, token: string): Promise<Found> {
  const deadline = Date.now() + HANDOVER_WAIT_MS;
  let nextBeatCheck = 0;
  let pause = HANDOVER_POLL_MS;
  for (;;) {
    const known = await host.state.resumption.get(user, token);
    if (!known) return { kind: 'unknown' };
    const record = await host.state.registry.get(known.full_jid, { fresh: true });
    if (!record) return { kind: 'gone', known, replaced: true };
    // Another bind of the resource replaced it; a record with this token but another session is a resumption under way.
    if (record.session_id !== known.session_id) return { kind: 'gone', known, replaced: record.sm_token !== token };
    const settled = record.node === PARKED_NODE || record.node === host.nodeId || (known.detached_at !== 0 && known.owner === record.node);
    if (settled || Date.now() >= deadline) return { kind: 'found', known, record, unanswered: !settled };
    // A node whose heartbeat stopped hands nothing over: no point waiting for it. The store's
    // epoch and owner checks fence it should it wake up (a freeze). A sweep parking the stream
    // meanwhile is not waited for (that made resumptions after a kill wait for the whole sweep):
    // the claim below comes first, and the sweep's take finds the session marked moved.
    if (Date.now() >= nextBeatCheck) {
      nextBeatCheck = Date.now() + HEARTBEAT_CHECK_MS;
      if (await silent(host, record.node)) return { kind: 'found', known, record, unanswered: true };
    }
    await delay(pause);
    pause = Math.min(HANDOVER_POLL_MAX_MS, pause * 2);
  }
}

/** The stream belongs to a node that drained or died, or to another live node: take it over. */
async function resumeElsewhere(ctx: Context, connection: StreamConnection, token: string, h: number): Promise<C2SSession | undefined> {
  const { host, options } = ctx;
  const session = connection.session;
  const user = session.bare_jid as string;
  const found = await handedOver(host, user, token);
  if (found.kind === 'unknown') {
    resumeFailed(host, connection, 'item-not-found', 'item-not-found');
    return undefined;
  }
  if (found.kind === 'gone') {
    resumeFailed(host, connection, 'item-not-found', 'item-not-found', { h: String(found.known.inbound) });
    if (found.replaced) await host.state.resumption.delete(user, token);
    return undefined;
  }
  const { known, record } = found;
  if (h > known.sent || h < known.acked) {
    resumeFailed(host, connection, 'undefined-condition', 'unexpected-request', { h: String(known.inbound) });
    return undefined;
  }
  await host.jobs.cancel(expiryJobId(user, token));
  restoreSession(session, record, known.full_jid);
  session.roster = await host.state.rosters.load(user);
  // The session is routable here before the registry says so: what reaches it is held until the
  // snapshot tells where its numbering continues.
  const stream = new Stream(host, session, options.maxQueue, ctx.refused);
  stream.token = token;
  stream.phase = 'hibernating';
  stream.hold();
  session.sm = stream;
  ctx.resumable.set(token, session);
  host.local.enter(session);
  /** Undoes the above: the registry record is ours to remove, and what reached the session meanwhile is routed again. */
  const abandon = async (): Promise<void> => {
    ctx.resumable.delete(token);
    stream.token = undefined;
    host.local.forget(session);
    await host.state.registry.release(known.full_jid, session.id);
    for (const xml of stream.dropHeld()) await host.router.send(parse(xml));
  };
  let replaced: SessionRecord | undefined;
  let snapshot: ResumptionSnapshot | undefined;
  try {
    replaced = await host.state.registry.claim({ ...record, node: host.nodeId, session_id: session.id, sm_token: token });
    await host.state.resumption.setSession(user, token, session.id);
    // From here on the old owner can no longer queue: what it is given next is routed to us.
    snapshot = await host.state.resumption.takeOver(user, token, host.nodeId);
  } catch (err) {
    await abandon().catch(() => undefined);
    connection.close(new StreamError('internal-server-error'));
    throw err;
  }
  if (!snapshot) {
    // It expired meanwhile; its expiry settled the queue (offline storage, bounces).
    await abandon();
    resumeFailed(host, connection, 'item-not-found', 'item-not-found');
    connection.close();
    return undefined;
  }
  // What the unanswering node's inbox still holds for the resource goes first, in order (a sweep
  // would re-route it later, behind newer stanzas of the same senders).
  const stranded = found.unanswered ? await takeStranded(ctx, record.node, { to: known.full_jid, sessionId: record.session_id }) : [];
  stream.inbound = snapshot.record.inbound;
  stream.sent = snapshot.record.sent;
  stream.acked = snapshot.record.acked;
  stream.queue = snapshot.queue;
  stream.delivered = new Delivered(snapshot.delivered);
  stream.epoch = snapshot.record.epoch ?? 0;
  stream.release(stranded);
  stream.acknowledge(h);
  // The versions the old node showed this resource are gone: state pushes still queued are read again.
  await refreshQueue(session, stream.queue, host.pushSources);
  if (replaced && replaced.session_id !== session.id) await retire(host, replaced, `${token}.${session.id}`);
  // A park racing with this claim may have overwritten it; the stream is ours now, so is the record.
  const current = await host.state.registry.get(known.full_jid, { fresh: true });
  if (current && current.session_id !== session.id) await host.state.registry.claim({ ...current, node: host.nodeId, session_id: session.id, sm_token: token });
  stream.phase = 'attached';
  finishResume(host, connection, stream, token);
  await host.hooks.fire('resource-moved', { fullJid: known.full_jid, node: host.nodeId });
  return session;
}

/**
 * Stanza envelopes for the resource left in `node`'s inbox, taken out of it; none when that fails.
 * The session is marked moved there first: a sender whose cache still names that node is refused
 * and routes to this one, behind what is taken here.
 */
async function takeStranded(ctx: Context, node: string, resource: TakenResource): Promise<Array<{ xml: string; stamp: number; id: string | undefined }>> {
  const { host, stranded: takes } = ctx;
  if (node === PARKED_NODE || node === host.nodeId) return [];
  try {
    const envelopes = await takes.take(node, resource);
    const stranded = [];
    for (const envelope of envelopes) {
      if (envelope.kind === 'stanza') stranded.push({ xml: envelope.xml, stamp: envelope.at ?? Date.now(), id: envelope.sid });
    }
    if (stranded.length > 0) host.log.info({ event: 'sm_stranded_taken', node, count: stranded.length });
    return stranded;
  } catch (err) {
    host.log.error({ event: 'sm_stranded_take_failed', node, err });
    return [];
  }
}

/** The session a resumption replaced, on whichever node holds it, vanishes quietly. */
export async function retire(host: Host, replaced: SessionRecord, envelopeId: string): Promise<void> {
  if (replaced.node === PARKED_NODE) return;
  if (replaced.node === host.nodeId) {
    const leftover = host.local.byId(replaced.session_id);
    if (leftover) await host.hooks.fire('stream-taken-over', { session: leftover });
    return;
  }
  await host.bus?.send(replaced.node, { kind: 'takeover', id: envelopeId, to: replaced.full_jid, sessionId: replaced.session_id });
}

/** The local half of a session record: what the registry knew about the resumed resource. */
function restoreSession(session: C2SSession, record: SessionRecord, fullJid: string): void {
  session.resource = resourceOf(fullJid);
  session.full_jid = fullJid;
  session.type = 'c2s';
  session.priority = record.priority;
  session.presence = record.presence === undefined ? undefined : parse(record.presence);
  session.interested = record.interested;
  session.carbons = record.carbons;
  session.blocklist_interested = record.blocklist_interested;
}

/** <resumed/>, then everything not yet acknowledged, in order (XEP-0198 §5). */
function finishResume(host: Host, connection: StreamConnection, stream: Stream, token: string): void {
  connection.write(`<resumed xmlns='${NS_SM}' h='${stream.inbound}' previd='${token}'/>`);
  for (const queued of stream.queue) connection.write(redelivery(host, queued));
  host.telemetry.smResumed();
  host.log.info({ event: 'sm_resumed', session: stream.session.id, redelivered: stream.queue.length });
  if (stream.queue.length > 0) stream.request();
}

function redelivery(host: Host, queued: QueuedStanza): string {
  if (queued.xml.startsWith('<iq')) return queued.xml;
  try {
    return withDelay(parse(queued.xml), host.domain, new Date(queued.stamp), true).toString();
  } catch {
    return queued.xml;
  }
}
