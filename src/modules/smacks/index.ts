// XEP-0198 stream management, resumable on any node (after Prosody's mod_smacks). While a
// resumable session has no connection it hibernates: it stays a connected, available resource,
// stanzas for it queue up, and a delayed job (BullMQ on Redis) ends it when its time is up.
// When its node drains or dies, the session is parked: the ResumptionStore holds its queue, the
// registry names no node, and any node may resume it. Hooks are registered at the bottom.
//
// Who owns a stream is decided in the ResumptionStore (`owner`): appends from any other node are
// refused, and a refused stanza is re-routed to wherever the resource is now, so nothing is
// lost while ownership moves. A node taking a stream over claims the registry record first and
// the ResumptionStore second, so that from the instant other nodes can no longer queue for the stream,
// the registry already sends its stanzas to the new owner.
import { randomBytes } from 'node:crypto';
import { Element, parse } from 'ltx';
import type { Host } from '../../core/host.js';
import type { Module } from '../../core/module.js';
import type { C2SSession, StreamConnection } from '../../core/session.js';
import { refreshQueue } from '../../core/state-push.js';
import { PARKED_NODE, type SessionRecord } from '../../state/sessions.js';
import type { QueuedStanza, ResumptionRecord, ResumptionSnapshot } from '../../state/resumption.js';
import { StreamError } from '../../xmpp/errors.js';
import { bareOf, resourceOf } from '../../xmpp/jid-string.js';
import { NS_SM, NS_STANZAS } from '../../xmpp/ns.js';
import { withDelay } from '../../xmpp/stanza.js';
import { type RefusedHandler, Stream } from './stream.js';
import { settleUnacked } from './unacked.js';

export interface SmOptions {
  /** Seconds a resumable session waits for its client (XEP-0198 'max'). */
  hibernationSeconds: number;
  maxQueue: number;
}

export const DEFAULT_SM_OPTIONS: SmOptions = { hibernationSeconds: 300, maxQueue: 1000 };

/**
 * A resumption waits at most this long for the stream's previous node to finish handing it
 * over (a drain in progress); past it, the stream is taken over anyway (the node is dead, or its
 * connection is half-open and it has not noticed yet).
 */
const HANDOVER_WAIT_MS = 2000;
const HANDOVER_POLL_MS = 20;
/** How long a stream that loses its connection waits for a stanza still being handled. */
const QUIESCE_MS = 1000;

/** Resumable streams on this node, by token (attached or hibernating). */
type Resumable = Map<string, C2SSession>;
/** Resumptions under way, by the connection's unbound session: what they resolve to (drain waits for them). */
type Resuming = Map<C2SSession, Promise<C2SSession | undefined>>;

interface Context {
  host: Host;
  options: SmOptions;
  resumable: Resumable;
  resuming: Resuming;
  refused: RefusedHandler;
}

function failed(connection: StreamConnection, condition: string, extra: Record<string, string> = {}): void {
  const element = new Element('failed', { xmlns: NS_SM, ...extra });
  element.c(condition, { xmlns: NS_STANZAS });
  connection.write(element.toString());
}

function expiryJobId(user: string, token: string): string {
  return `sm-expire ${user} ${token}`;
}

function streamOf(session: C2SSession): Stream | undefined {
  return session.sm instanceof Stream ? session.sm : undefined;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function scheduleExpiry(ctx: Context, user: string, token: string): Promise<void> {
  await ctx.host.jobs.schedule(expiryJobId(user, token), 'sm-expire', { user, token }, ctx.options.hibernationSeconds * 1000);
}

/**
 * A stanza the ResumptionStore refused for this node: the stream moved. If no node owns it (it was
 * parked), the stanza joins the parked queue; if another node took it over, this session is a
 * leftover and the stanza is routed again, to wherever the resource is now.
 */
function onRefused(host: Host): RefusedHandler {
  return (stream, stanza, token) => {
    void (async () => {
      if (await host.state.resumption.append(stream.user, token, '', { ...stanza, seq: 0 })) return;
      if (!stream.session.destroyed) await host.hooks.fire('stream-taken-over', { session: stream.session });
      host.state.registry.invalidate?.(stream.user);
      await host.router.send(parse(stanza.xml));
    })().catch((err: unknown) => host.log.error({ event: 'sm_reroute_failed', session: stream.session.id, err }));
  };
}

async function enable(ctx: Context, connection: StreamConnection, element: Element): Promise<void> {
  const { host, options } = ctx;
  const session = connection.session;
  if (session.type !== 'c2s' || session.sm) {
    failed(connection, 'unexpected-request');
    return;
  }
  const stream = new Stream(host, session, options.maxQueue, ctx.refused);
  const wantsResume = element.attrs.resume === 'true' || element.attrs.resume === '1';
  if (!wantsResume) {
    session.sm = stream;
    host.telemetry.smEnabled();
    connection.write(`<enabled xmlns='${NS_SM}'/>`);
    return;
  }
  const token = randomBytes(18).toString('base64url');
  const user = session.bare_jid as string;
  await host.state.resumption.create(user, {
    token,
    full_jid: session.full_jid as string,
    session_id: session.id,
    owner: host.nodeId,
    inbound: 0,
    acked: 0,
    sent: 0,
    detached_at: 0,
  });
  await host.local.patchRecord(session, { sm_token: token });
  if (session.destroyed) {
    await host.state.resumption.delete(user, token);
    return;
  }
  // Both sides count from <enabled/> on (XEP-0198 §4): the stream starts in the same step, so
  // nothing written before it is counted and nothing after it is missed.
  stream.token = token;
  session.sm = stream;
  ctx.resumable.set(token, session);
  host.telemetry.smEnabled();
  connection.write(`<enabled xmlns='${NS_SM}' id='${token}' resume='true' max='${options.hibernationSeconds}'/>`);
}

/** Keeps a resumable session whose connection was lost (pre-resource-unbind veto). */
async function hibernate(ctx: Context, session: C2SSession): Promise<boolean> {
  const stream = streamOf(session);
  if (!stream?.token || stream.ending) return false;
  if (stream.hibernating) return true;
  stream.hibernating = true;
  stream.stop();
  // A resumption or a drain that comes meanwhile waits for this to finish.
  const detaching = detach(ctx, session, stream, stream.token);
  stream.detaching = detaching;
  try {
    return await detaching;
  } finally {
    if (stream.detaching === detaching) stream.detaching = undefined;
  }
}

async function detach(ctx: Context, session: C2SSession, stream: Stream, token: string): Promise<boolean> {
  const { host } = ctx;
  const user = stream.user;
  // A session that a newer bind of its resource replaced is over: nothing could resume it.
  host.state.registry.invalidate?.(user);
  const record = await host.state.registry.get(session.full_jid as string);
  if (!record || record.session_id !== session.id) {
    stream.ending = true;
    stream.hibernating = false;
    return false;
  }
  await stream.quiesce(QUIESCE_MS);
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
async function restoreStream(ctx: Context, session: C2SSession): Promise<void> {
  const { host } = ctx;
  const stream = streamOf(session);
  const token = stream?.token;
  if (!stream || token === undefined || stream.ending || stream.parked) return;
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
  });
  for (const stanza of stream.queue) await host.state.resumption.append(user, token, host.nodeId, stanza);
  if (stream.hibernating) {
    await host.state.resumption.detach(user, token, host.nodeId, stream.inbound, Date.now(), host.nodeId);
    await scheduleExpiry(ctx, user, token);
  }
  host.log.info({ event: 'sm_restored', session: session.id, queued: stream.queue.length });
}

/**
 * Hands a session over to whichever node its client reconnects to (this node is draining): a
 * last ack request, then nothing more is written to the client or read from it, the counters go
 * to the ResumptionStore, no node owns the stream, and the registry record is parked.
 */
async function park(ctx: Context, session: C2SSession, ackWaitMs: number): Promise<boolean> {
  const { host } = ctx;
  const stream = streamOf(session);
  if (stream?.detaching) await stream.detaching;
  if (session.destroyed) return true;
  if (!stream?.token || session.full_jid === undefined || stream.ending) return false;
  if (stream.parked) return true;
  stream.parked = true;
  const token = stream.token;
  const user = stream.user;
  if (!stream.hibernating) {
    if (ackWaitMs > 0) await stream.settle(ackWaitMs);
    stream.hibernating = true;
    stream.stop();
    (session.conn as Partial<StreamConnection>).closeQuietly?.();
    await stream.quiesce(QUIESCE_MS);
  }
  await stream.persistCounters();
  // First, so that a stream left without owner by a failure half-way still ends some day.
  await scheduleExpiry(ctx, user, token);
  ctx.resumable.delete(token);
  if (await host.state.resumption.detach(user, token, '', stream.inbound, Date.now(), host.nodeId)) {
    // From here on this node's appends are refused, and go to the parked queue (onRefused).
    host.state.registry.invalidate?.(user);
    const record = await host.state.registry.get(session.full_jid);
    if (record && record.session_id === session.id && record.node === host.nodeId) {
      await host.state.registry.claim({ ...record, node: PARKED_NODE, sm_token: token });
    }
  }
  host.local.forget(session);
  host.log.info({ event: 'sm_parked', session: session.id, queued: stream.queue.length });
  return true;
}

function resume(ctx: Context, connection: StreamConnection, element: Element): Promise<void> {
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
    failed(connection, 'unexpected-request');
    host.telemetry.smResumeFailed('unexpected-request');
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
    if (stream?.detaching) await stream.detaching;
    if (stream && !local.destroyed && !stream.parked && !stream.ending) return resumeLocal(ctx, connection, local, h);
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
    failed(connection, 'undefined-condition', { h: String(stream.inbound) });
    host.telemetry.smResumeFailed('unexpected-request');
    stream.token = undefined;
    ctx.resumable.delete(token);
    old.close(new StreamError('undefined-condition', problem));
    await host.local.destroy(old, problem);
    return undefined;
  }
  if (!stream.hibernating) {
    // Its old connection is still open (half-open, as far as the client is concerned).
    stream.hibernating = true;
    stream.stop();
    (old.conn as Partial<StreamConnection>).closeQuietly?.();
    await stream.quiesce(QUIESCE_MS);
  }
  await host.jobs.cancel(expiryJobId(stream.user, token));
  await host.state.resumption.takeOver(stream.user, token, host.nodeId);
  stream.acknowledge(h);
  stream.hibernating = false;
  connection.attachSession(old);
  finishResume(host, connection, stream, token);
  return old;
}

type Found = { kind: 'unknown' } | { kind: 'gone'; known: ResumptionRecord; replaced: boolean } | { kind: 'found'; known: ResumptionRecord; record: SessionRecord };

/**
 * The stream's record and its registry record, once its previous node is done with it: parked,
 * hibernating, or on this node. A node still attached to it (draining, or a connection it thinks
 * is alive) gets HANDOVER_WAIT_MS.
 */
async function handedOver(host: Host, user: string, token: string): Promise<Found> {
  const deadline = Date.now() + HANDOVER_WAIT_MS;
  for (;;) {
    const known = await host.state.resumption.get(user, token);
    if (!known) return { kind: 'unknown' };
    host.state.registry.invalidate?.(user);
    const record = await host.state.registry.get(known.full_jid);
    if (!record) return { kind: 'gone', known, replaced: true };
    // Another bind of the resource replaced it; a record with this token but another session is a resumption under way.
    if (record.session_id !== known.session_id) return { kind: 'gone', known, replaced: record.sm_token !== token };
    const settled = record.node === PARKED_NODE || record.node === host.nodeId || (known.detached_at !== 0 && known.owner === record.node);
    if (settled || Date.now() >= deadline) return { kind: 'found', known, record };
    await delay(HANDOVER_POLL_MS);
  }
}

/** The stream belongs to a node that drained or died, or to another live node: take it over. */
async function resumeElsewhere(ctx: Context, connection: StreamConnection, token: string, h: number): Promise<C2SSession | undefined> {
  const { host, options } = ctx;
  const session = connection.session;
  const user = session.bare_jid as string;
  const found = await handedOver(host, user, token);
  if (found.kind === 'unknown') {
    failed(connection, 'item-not-found');
    host.telemetry.smResumeFailed('item-not-found');
    return undefined;
  }
  if (found.kind === 'gone') {
    failed(connection, 'item-not-found', { h: String(found.known.inbound) });
    host.telemetry.smResumeFailed('item-not-found');
    if (found.replaced) await host.state.resumption.delete(user, token);
    return undefined;
  }
  const { known, record } = found;
  if (h > known.sent || h < known.acked) {
    failed(connection, 'undefined-condition', { h: String(known.inbound) });
    host.telemetry.smResumeFailed('unexpected-request');
    return undefined;
  }
  await host.jobs.cancel(expiryJobId(user, token));
  restoreSession(session, record, known.full_jid);
  session.roster = await host.state.rosters.load(user);
  // The session is routable here before the registry says so: what reaches it is held until the
  // snapshot tells where its numbering continues.
  const stream = new Stream(host, session, options.maxQueue, ctx.refused);
  stream.token = token;
  stream.hibernating = true;
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
    failed(connection, 'item-not-found');
    host.telemetry.smResumeFailed('item-not-found');
    connection.close();
    return undefined;
  }
  stream.inbound = snapshot.record.inbound;
  stream.sent = snapshot.record.sent;
  stream.acked = snapshot.record.acked;
  stream.queue = snapshot.queue;
  stream.release();
  stream.acknowledge(h);
  // The versions the old node showed this resource are gone: state pushes still queued are read again.
  await refreshQueue(session, stream.queue, host.pushSources);
  if (replaced && replaced.session_id !== session.id) await retire(host, replaced, `${token}.${session.id}`);
  // A park racing with this claim may have overwritten it; the stream is ours now, so is the record.
  host.state.registry.invalidate?.(user);
  const current = await host.state.registry.get(known.full_jid);
  if (current && current.session_id !== session.id) await host.state.registry.claim({ ...current, node: host.nodeId, session_id: session.id, sm_token: token });
  stream.hibernating = false;
  finishResume(host, connection, stream, token);
  return session;
}

/** The session a resumption replaced, on whichever node holds it, vanishes quietly. */
async function retire(host: Host, replaced: SessionRecord, envelopeId: string): Promise<void> {
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
    return withDelay(parse(queued.xml), host.domain, new Date(queued.stamp)).toString();
  } catch {
    return queued.xml;
  }
}

/** The hibernation time is up: the session ends, and what it never acknowledged is settled. */
async function expire(ctx: Context, user: string, token: string): Promise<void> {
  const { host } = ctx;
  const local = ctx.resumable.get(token);
  const stream = local ? streamOf(local) : undefined;
  if (local && stream && !local.destroyed && !stream.parked) {
    if (!stream.hibernating) return; // resumed meanwhile
    stream.ending = true;
    await host.local.destroy(local, 'Hibernating too long');
    return;
  }
  // Only a stream still detached: one whose client came back meanwhile is not taken.
  const snapshot = await host.state.resumption.takeOver(user, token, host.nodeId, { onlyIfDetached: true });
  if (!snapshot) return;
  const known = snapshot.record;
  host.state.registry.invalidate?.(user);
  const record = await host.state.registry.get(known.full_jid);
  if (record && record.session_id === known.session_id) {
    await retire(host, record, `${token}.expire`);
    if (await host.state.registry.release(record.full_jid, record.session_id)) {
      await host.hooks.fire('resource-lost', { record, reason: 'Hibernating too long' });
    }
  }
  await settleUnacked(host, known.full_jid, snapshot.queue);
  await host.state.resumption.delete(user, token);
}

/** A dead node's resumable session is parked instead of ended: its client may still resume. */
async function parkOrphan(ctx: Context, record: SessionRecord): Promise<boolean> {
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
  host.state.registry.invalidate?.(user);
  const current = await host.state.registry.get(record.full_jid);
  if (current && current.session_id === record.session_id && current.node === record.node) {
    await host.state.registry.claim({ ...current, node: PARKED_NODE, sm_token: token });
  }
  return true;
}

/** The session really ends: settle its unacknowledged stanzas and forget its stream. */
async function onUnbind(ctx: Context, session: C2SSession): Promise<void> {
  const { host } = ctx;
  const stream = streamOf(session);
  if (!stream) return;
  stream.stop();
  const token = stream.token;
  if (token !== undefined) {
    ctx.resumable.delete(token);
    stream.token = undefined;
    await host.jobs.cancel(expiryJobId(stream.user, token));
    await host.state.resumption.delete(stream.user, token);
  }
  await settleUnacked(host, session.full_jid as string, stream.queue);
  stream.queue = [];
}

function onNonza(ctx: Context, connection: StreamConnection, element: Element): Promise<boolean> | boolean {
  if (element.attrs.xmlns !== NS_SM) return false;
  const stream = streamOf(connection.session);
  switch (element.name) {
    case 'enable':
      return enable(ctx, connection, element).then(() => true);
    case 'resume':
      return resume(ctx, connection, element).then(() => true);
    case 'r':
      if (!stream) return false;
      connection.write(`<a xmlns='${NS_SM}' h='${stream.inbound}'/>`);
      void stream.persistCounters();
      return true;
    case 'a': {
      if (!stream) return false;
      const h = Number(element.attrs.h);
      if (!Number.isInteger(h) || h < 0) {
        connection.close(new StreamError('invalid-xml', 'Bad h in <a/>'));
        return true;
      }
      const problem = stream.acknowledge(h);
      if (problem) connection.close(new StreamError('undefined-condition', problem));
      return true;
    }
    default:
      return false;
  }
}

export function smacksModule(options: SmOptions = DEFAULT_SM_OPTIONS): Module {
  return {
    name: 'smacks',
    load(api) {
      const { host } = api;
      const ctx: Context = { host, options, resumable: new Map(), resuming: new Map(), refused: onRefused(host) };
      api.hook('stream-features', ({ session, features }) => {
        if (session.type !== 'c2s_unauthed') features.c('sm', { xmlns: NS_SM });
      });
      api.hook('stream-nonza', ({ connection, element }) => onNonza(ctx, connection, element));
      // First of all outbound handlers, in the same tick the connection takes the stanza up.
      for (const event of ['pre-message', 'pre-presence', 'pre-iq'] as const) {
        api.hook(event, ({ session }) => void streamOf(session)?.inboundStarted(), 1000);
      }
      api.hook('pre-resource-unbind', ({ session, clean }) => (clean ? false : hibernate(ctx, session)), 10);
      api.hook('resource-unbind', ({ session }) => onUnbind(ctx, session), 10);
      api.hook('resource-orphaned', ({ record }) => parkOrphan(ctx, record));
      api.hook('session-handover', async ({ session, ackWaitMs }) => {
        // A resumption under way finishes first; the session it resumed is handed over.
        const pending = ctx.resuming.get(session);
        const target = pending ? await pending : session;
        if (!target || target.type !== 'c2s' || target.destroyed) return false;
        return park(ctx, target, ackWaitMs);
      });
      api.hook('stream-taken-over', ({ session }) => {
        const stream = streamOf(session);
        stream?.stop();
        if (stream?.token !== undefined && ctx.resumable.get(stream.token) === session) ctx.resumable.delete(stream.token);
        (session.conn as Partial<StreamConnection>).closeQuietly?.();
        host.local.forget(session);
      });
      api.hook('state-restored', async ({ sessions }) => {
        for (const session of sessions) {
          await restoreStream(ctx, session).catch((err: unknown) => host.log.error({ event: 'sm_restore_failed', session: session.id, err }));
        }
      });
      host.jobs.handle('sm-expire', ({ user, token }) => expire(ctx, user, token));
      api.onUnload(
        host.telemetry.hibernating(() => {
          let count = 0;
          for (const session of ctx.resumable.values()) if (streamOf(session)?.hibernating) count += 1;
          return count;
        }),
      );
    },
  };
}
