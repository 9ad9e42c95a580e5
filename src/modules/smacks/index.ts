// XEP-0198 stream management, resumable on any node (after Prosody's mod_smacks). While a
// resumable session has no connection it hibernates: it stays a connected, available resource,
// stanzas for it queue up, and a delayed job (BullMQ on Redis) ends it when its time is up.
// When its node drains or dies, the session is parked: the ResumptionStore holds its queue, the
// registry names no node, and any node may resume it. This file registers the hooks; the
// work is in enable.ts, hibernate.ts, park.ts and resume.ts (context.ts: what they share).
//
// Who owns a stream is decided in the ResumptionStore (`owner`): appends from any other node are
// refused, and a refused stanza is re-routed to wherever the resource is now, so nothing is
// lost while ownership moves. A node taking a stream over claims the registry record first and
// the ResumptionStore second, so that from the instant other nodes can no longer queue for the stream,
// the registry already sends its stanzas to the new owner.
import type { Element } from 'ltx';
import type { Module } from '../../core/module.js';
import type { C2SSession, StreamConnection } from '../../core/session.js';
import { identify } from '../../core/stanza-identity.js';
import { StreamError } from '../../xmpp/errors.js';
import { NS_SM } from '../../xmpp/ns.js';
import { type Context, DEFAULT_SM_OPTIONS, expiryJobId, type SmOptions, streamOf } from './context.js';
import { enable, onRefused } from './enable.js';
import { expire, hibernate, restoreStream } from './hibernate.js';
import { park, parkOrphan } from './park.js';
import { resume } from './resume.js';
import { StrandedTakes } from './stranded.js';
import { settleUnacked } from './unacked.js';

export { DEFAULT_SM_OPTIONS, type SmOptions };

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
    case 'r': {
      if (!stream) return false;
      const h = stream.inbound;
      if (stream.token === undefined) {
        connection.write(`<a xmlns='${NS_SM}' h='${h}'/>`);
        return true;
      }
      // The client forgets what an <a/> covers, so the count is stored first: a resumption on any
      // node, even one that does not wait for this one (its heartbeat late), answers an h no lower.
      // Otherwise the client's next stanza would get the identity of one already delivered.
      void stream.persistCounters().then((stored) => {
        if (stored) connection.write(`<a xmlns='${NS_SM}' h='${h}'/>`);
      });
      return true;
    }
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
      const ctx: Context = { host, options, resumable: new Map(), resuming: new Map(), refused: onRefused(host), stranded: new StrandedTakes(() => host.bus) };
      api.hook('stream-features', ({ session, features }) => {
        if (session.type !== 'c2s_unauthed') features.c('sm', { xmlns: NS_SM });
      });
      api.hook('stream-nonza', ({ connection, element }) => onNonza(ctx, connection, element));
      // SASL2 (XEP-0388) and Bind2 (XEP-0386): the same resume and enable, requested inline.
      api.hook('sasl2-inline-features', ({ inline }) => void inline.c('sm', { xmlns: NS_SM }));
      api.hook('bind2-inline-features', ({ inline }) => void inline.c('feature', { var: NS_SM }));
      api.hook('sasl2-resume', ({ connection, element }) => resume(ctx, connection, element).then(() => true));
      api.hook('bind2-enable', ({ connection, element }) => element.is('enable', NS_SM) && enable(ctx, connection, element).then(() => true));
      // First of all outbound handlers, in the same tick the connection takes the stanza up.
      for (const event of ['pre-message', 'pre-presence', 'pre-iq'] as const) {
        api.hook(event, ({ session, stanza }) => void identify(stanza, streamOf(session)?.inboundStarted()), 1000);
      }
      api.hook('pre-resource-unbind', ({ session, clean }) => (clean ? false : hibernate(ctx, session)), 10);
      api.hook('resource-unbind', ({ session }) => onUnbind(ctx, session), 10);
      api.hook('resource-orphaned', ({ record, orphans }) => parkOrphan(ctx, record, orphans));
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
          for (const session of ctx.resumable.values()) {
            const phase = streamOf(session)?.phase;
            if (phase === 'hibernating' || phase === 'detaching') count += 1;
          }
          return count;
        }),
      );
    },
  };
}
