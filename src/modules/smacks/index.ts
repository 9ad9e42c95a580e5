// XEP-0198 stream management, resumable on any node (after Prosody's mod_smacks). While a
// resumable session has no connection it hibernates: it stays a connected, available resource,
// stanzas for it queue up, and a delayed job (BullMQ on Redis) ends it when its time is up.
// When its node drains or dies, the session is parked: the SmStore holds its queue, the
// registry names no node, and any node may resume it. Hooks are registered at the bottom.
import { randomBytes } from 'node:crypto';
import { Element, parse } from 'ltx';
import type { Host } from '../../core/host.js';
import type { Module } from '../../core/module.js';
import type { C2SSession, StreamConnection } from '../../core/session.js';
import { PARKED_NODE, type SessionRecord } from '../../state/sessions.js';
import type { QueuedStanza } from '../../state/stream-management.js';
import { StreamError } from '../../xmpp/errors.js';
import { bareOf, resourceOf } from '../../xmpp/jid-string.js';
import { NS_SM, NS_STANZAS } from '../../xmpp/ns.js';
import { withDelay } from '../../xmpp/stanza.js';
import { Stream } from './stream.js';
import { settleUnacked } from './unacked.js';

export interface SmOptions {
  /** Seconds a resumable session waits for its client (XEP-0198 'max'). */
  hibernationSeconds: number;
  maxQueue: number;
}

export const DEFAULT_SM_OPTIONS: SmOptions = { hibernationSeconds: 300, maxQueue: 1000 };

/** Resumable streams on this node, by token (attached or hibernating). */
type Resumable = Map<string, C2SSession>;

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

async function enable(host: Host, options: SmOptions, resumable: Resumable, connection: StreamConnection, element: Element): Promise<void> {
  const session = connection.session;
  if (session.type !== 'c2s' || session.sm) {
    failed(connection, 'unexpected-request');
    return;
  }
  const stream = new Stream(host, session, options.maxQueue);
  session.sm = stream;
  host.telemetry.smEnabled();
  const wantsResume = element.attrs.resume === 'true' || element.attrs.resume === '1';
  if (!wantsResume) {
    connection.write(`<enabled xmlns='${NS_SM}'/>`);
    return;
  }
  const token = randomBytes(18).toString('base64url');
  await host.state.streams.create(stream.user, {
    token,
    full_jid: session.full_jid as string,
    session_id: session.id,
    owner: host.nodeId,
    inbound: 0,
    acked: 0,
    sent: 0,
    detached_at: 0,
  });
  stream.token = token;
  resumable.set(token, session);
  await host.sessions.publish(session, { sm_token: token });
  connection.write(`<enabled xmlns='${NS_SM}' id='${token}' resume='true' max='${options.hibernationSeconds}'/>`);
}

/** Keeps a resumable session whose connection was lost (pre-resource-unbind veto). */
async function hibernate(host: Host, options: SmOptions, session: C2SSession): Promise<boolean> {
  const stream = streamOf(session);
  if (!stream?.token || stream.hibernating) return stream?.hibernating === true;
  stream.hibernating = true;
  stream.stop();
  await stream.persistCounters();
  await host.state.streams.detach(stream.user, stream.token, host.nodeId, stream.inbound, Date.now());
  await host.jobs.schedule(expiryJobId(stream.user, stream.token), 'sm-expire', { user: stream.user, token: stream.token }, options.hibernationSeconds * 1000);
  host.log.info({ event: 'sm_hibernating', session: session.id });
  return true;
}

/** Hands a session over to whichever node the client reconnects to (its node is draining). */
async function park(host: Host, session: C2SSession, ackWaitMs = 0): Promise<boolean> {
  const stream = streamOf(session);
  if (!stream?.token || session.full_jid === undefined) return false;
  if (ackWaitMs > 0) await stream.settle(ackWaitMs);
  stream.stop();
  const token = stream.token;
  await stream.persistCounters();
  await host.state.streams.detach(stream.user, token, '', stream.inbound, Date.now());
  const record = await host.state.sessions.get(session.full_jid);
  if (record && record.session_id === session.id) await host.state.sessions.claim({ ...record, node: PARKED_NODE });
  host.sessions.forget(session);
  (session.conn as Partial<StreamConnection>).closeQuietly?.();
  return true;
}

async function resume(host: Host, options: SmOptions, resumable: Resumable, connection: StreamConnection, element: Element): Promise<void> {
  const session = connection.session;
  const token = String(element.attrs.previd ?? '');
  const h = Number(element.attrs.h);
  if (session.type !== 'c2s_unbound' || session.bare_jid === undefined) {
    failed(connection, 'unexpected-request');
    return;
  }
  if (token === '' || !Number.isInteger(h) || h < 0) {
    failed(connection, 'bad-request');
    return;
  }
  const local = resumable.get(token);
  if (local && local.bare_jid === session.bare_jid && !local.destroyed) {
    await resumeLocal(host, options, resumable, connection, local, h);
    return;
  }
  await resumeElsewhere(host, options, resumable, connection, token, h);
}

/** The stream hibernates (or is still attached) on this node: swap its connection. */
async function resumeLocal(host: Host, options: SmOptions, resumable: Resumable, connection: StreamConnection, old: C2SSession, h: number): Promise<void> {
  const stream = streamOf(old) as Stream;
  const token = stream.token as string;
  const problem = stream.acknowledge(h);
  if (problem) {
    failed(connection, 'undefined-condition', { h: String(stream.inbound) });
    host.telemetry.smResumeFailed('unexpected-request');
    stream.token = undefined;
    resumable.delete(token);
    old.close(new StreamError('undefined-condition', problem));
    await host.sessions.destroy(old, problem);
    return;
  }
  const previous = old.conn as Partial<StreamConnection>;
  if (!stream.hibernating) previous.closeQuietly?.();
  await host.jobs.cancel(expiryJobId(stream.user, token));
  await host.state.streams.takeOver(stream.user, token, host.nodeId);
  stream.hibernating = false;
  connection.adopt(old);
  finishResume(host, connection, stream, token);
}

/** The stream belongs to a node that drained or died, or to another live node: take it over. */
async function resumeElsewhere(host: Host, options: SmOptions, resumable: Resumable, connection: StreamConnection, token: string, h: number): Promise<void> {
  const session = connection.session;
  const user = session.bare_jid as string;
  const known = await host.state.streams.get(user, token);
  if (!known) {
    failed(connection, 'item-not-found');
    host.telemetry.smResumeFailed('item-not-found');
    return;
  }
  host.state.sessions.invalidate?.(user);
  const record = await host.state.sessions.get(known.full_jid);
  if (!record || record.session_id !== known.session_id) {
    failed(connection, 'item-not-found', { h: String(known.inbound) });
    host.telemetry.smResumeFailed('item-not-found');
    await host.state.streams.delete(user, token);
    return;
  }
  if (h > known.sent || h < known.acked) {
    failed(connection, 'undefined-condition', { h: String(known.inbound) });
    host.telemetry.smResumeFailed('unexpected-request');
    return;
  }
  // From here on the old owner can no longer queue: what it sends next is routed to us.
  const snapshot = await host.state.streams.takeOver(user, token, host.nodeId);
  if (!snapshot) {
    failed(connection, 'item-not-found');
    return;
  }
  await host.jobs.cancel(expiryJobId(user, token));
  restoreSession(session, record, known.full_jid);
  const replaced = await host.state.sessions.claim({ ...record, node: host.nodeId, session_id: session.id });
  await host.state.streams.setSession(user, token, session.id);
  if (replaced && replaced.node !== host.nodeId && replaced.node !== PARKED_NODE) {
    await host.bus?.send(replaced.node, { kind: 'takeover', id: `${token}.${session.id}`, to: replaced.full_jid, sessionId: replaced.session_id });
  }
  const stream = new Stream(host, session, options.maxQueue);
  stream.token = token;
  stream.inbound = snapshot.record.inbound;
  stream.sent = snapshot.record.sent;
  stream.acked = snapshot.record.acked;
  stream.queue = snapshot.queue;
  stream.acknowledge(h);
  session.sm = stream;
  session.roster = await host.state.rosters.load(user);
  resumable.set(token, session);
  host.sessions.adopt(session);
  finishResume(host, connection, stream, token);
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
async function expire(host: Host, resumable: Resumable, user: string, token: string): Promise<void> {
  const local = resumable.get(token);
  const stream = local ? streamOf(local) : undefined;
  if (local && stream) {
    if (!stream.hibernating) return;
    stream.token = undefined; // no hibernation this time
    resumable.delete(token);
    await host.sessions.destroy(local, 'Hibernating too long');
    return;
  }
  const known = await host.state.streams.get(user, token);
  if (!known || known.detached_at === 0) return; // resumed meanwhile
  const snapshot = await host.state.streams.takeOver(user, token, host.nodeId);
  if (!snapshot) return;
  const record = await host.state.sessions.get(known.full_jid);
  if (record && record.session_id === known.session_id) {
    if (record.node !== PARKED_NODE && record.node !== host.nodeId) {
      await host.bus?.send(record.node, { kind: 'takeover', id: `${token}.expire`, to: record.full_jid, sessionId: record.session_id });
    }
    if (await host.state.sessions.release(record.full_jid, record.session_id)) {
      await host.hooks.fire('resource-lost', { record, reason: 'Hibernating too long' });
    }
  }
  await settleUnacked(host, known.full_jid, snapshot.queue);
  await host.state.streams.delete(user, token);
}

/** A dead node's resumable session is parked instead of ended: its client may still resume. */
async function adoptOrphan(host: Host, options: SmOptions, record: SessionRecord): Promise<boolean> {
  if (record.sm_token === undefined) return false;
  const user = bareOf(record.full_jid);
  const known = await host.state.streams.get(user, record.sm_token);
  if (!known) return false;
  await host.state.streams.detach(user, record.sm_token, '', known.inbound, Date.now());
  await host.state.sessions.claim({ ...record, node: PARKED_NODE });
  await host.jobs.schedule(expiryJobId(user, record.sm_token), 'sm-expire', { user, token: record.sm_token }, options.hibernationSeconds * 1000);
  return true;
}

/** The session really ends: settle its unacknowledged stanzas and forget its stream. */
async function onUnbind(host: Host, resumable: Resumable, session: C2SSession): Promise<void> {
  const stream = streamOf(session);
  if (!stream) return;
  stream.stop();
  const token = stream.token;
  if (token !== undefined) {
    resumable.delete(token);
    await host.jobs.cancel(expiryJobId(stream.user, token));
    await host.state.streams.delete(stream.user, token);
  }
  await settleUnacked(host, session.full_jid as string, stream.queue);
  stream.queue = [];
}

function onNonza(host: Host, options: SmOptions, resumable: Resumable, connection: StreamConnection, element: Element): Promise<boolean> | boolean {
  if (element.attrs.xmlns !== NS_SM) return false;
  const stream = streamOf(connection.session);
  switch (element.name) {
    case 'enable':
      return enable(host, options, resumable, connection, element).then(() => true);
    case 'resume':
      return resume(host, options, resumable, connection, element).then(() => true);
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
      const resumable: Resumable = new Map();
      api.hook('stream-features', ({ session, features }) => {
        if (session.type !== 'c2s_unauthed') features.c('sm', { xmlns: NS_SM });
      });
      api.hook('stream-nonza', ({ connection, element }) => onNonza(host, options, resumable, connection, element));
      api.hook('pre-resource-unbind', ({ session, clean }) => (clean ? false : hibernate(host, options, session)), 10);
      api.hook('resource-unbind', ({ session }) => onUnbind(host, resumable, session), 10);
      api.hook('resource-orphaned', ({ record }) => adoptOrphan(host, options, record));
      api.hook('session-drain', async ({ session, ackWaitMs }) => {
        const token = streamOf(session)?.token;
        if (!(await park(host, session, ackWaitMs))) return false;
        if (token !== undefined) resumable.delete(token);
        return true;
      });
      api.hook('stream-taken-over', ({ session }) => {
        const stream = streamOf(session);
        stream?.stop();
        if (stream?.token !== undefined) resumable.delete(stream.token);
        (session.conn as Partial<StreamConnection>).closeQuietly?.();
        host.sessions.forget(session);
      });
      host.jobs.handle('sm-expire', ({ user, token }) => expire(host, resumable, user, token));
      api.onUnload(
        host.telemetry.hibernating(() => {
          let count = 0;
          for (const session of resumable.values()) if (streamOf(session)?.hibernating) count += 1;
          return count;
        }),
      );
    },
  };
}
