// XEP-0198 §3-§4: enabling stream management, resumable or not; and what becomes of a stanza
// the ResumptionStore refuses for this node (the stream moved elsewhere meanwhile).
import { randomBytes } from 'node:crypto';
import { type Element, parse } from 'ltx';
import type { Host } from '../../core/host.js';
import type { StreamConnection } from '../../core/session.js';
import { identify } from '../../core/stanza-identity.js';
import { NS_SM } from '../../xmpp/ns.js';
import { type Context, failed } from './context.js';
import { type RefusedHandler, Stream } from './stream.js';

/**
 * A stanza the ResumptionStore refused for this node: the stream moved. If no node owns it (it was
 * parked), the stanza joins the parked queue; if another node took it over, this session is a
 * leftover and the stanza is routed again, to wherever the resource is now.
 */
export function onRefused(host: Host): RefusedHandler {
  return (stream, stanza, token) => {
    void (async () => {
      if (await host.state.resumption.append(stream.user, token, '', { ...stanza, seq: 0 })) return;
      if (!stream.session.destroyed) await host.hooks.fire('stream-taken-over', { session: stream.session });
      host.state.registry.invalidate?.(stream.user);
      await host.router.send(identify(parse(stanza.xml), stanza.id));
    })().catch((err: unknown) => host.log.error({ event: 'sm_reroute_failed', session: stream.session.id, err }));
  };
}

export async function enable(ctx: Context, connection: StreamConnection, element: Element): Promise<void> {
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
