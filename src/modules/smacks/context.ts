// XEP-0198 stream management: what the parts of the module share (options, the module's
// context, small helpers). The parts: enable.ts (<enable/>), hibernate.ts (a lost connection,
// expiry), park.ts (a draining or dead node's streams), resume.ts (<resume/>); index.ts
// registers the hooks. doc/session-model.md describes the session these act on.
import { Element } from 'ltx';
import type { Host } from '../../core/host.js';
import type { C2SSession, StreamConnection } from '../../core/session.js';
import { PARKED_NODE } from '../../state/sessions.js';
import type { SmResumeFailure } from '../../telemetry.js';
import { NS_SM, NS_STANZAS } from '../../xmpp/ns.js';
import type { StrandedTakes } from './stranded.js';
import { type RefusedHandler, Stream } from './stream.js';

export interface SmOptions {
  /** Seconds a resumable session waits for its client (XEP-0198 'max'). */
  hibernationSeconds: number;
  maxQueue: number;
}

export const DEFAULT_SM_OPTIONS: SmOptions = { hibernationSeconds: 300, maxQueue: 1000 };

/** How long a stream that loses its connection waits for a stanza still being handled. */
export const QUIESCE_MS = 1000;

/** Resumable streams on this node, by token (attached or hibernating). */
export type Resumable = Map<string, C2SSession>;
/** Resumptions under way, by the connection's unbound session: what they resolve to (a drain waits for them). */
export type Resuming = Map<C2SSession, Promise<C2SSession | undefined>>;

export interface Context {
  host: Host;
  options: SmOptions;
  resumable: Resumable;
  resuming: Resuming;
  refused: RefusedHandler;
  /** Takes of dead nodes' inboxes by resumptions, coalesced per node. */
  stranded: StrandedTakes;
}

export function failed(connection: StreamConnection, condition: string, extra: Record<string, string> = {}): void {
  const element = new Element('failed', { xmlns: NS_SM, ...extra });
  element.c(condition, { xmlns: NS_STANZAS });
  connection.write(element.toString());
}

/** A <resume/> that fails (XEP-0198 §5): <failed/> with `condition`, counted as `reason`. */
export function resumeFailed(host: Host, connection: StreamConnection, condition: string, reason: SmResumeFailure, extra: Record<string, string> = {}): void {
  failed(connection, condition, extra);
  host.telemetry.smResumeFailed(reason);
}

export function expiryJobId(user: string, token: string): string {
  return `sm-expire ${user} ${token}`;
}

export function streamOf(session: C2SSession): Stream | undefined {
  return session.sm instanceof Stream ? session.sm : undefined;
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function scheduleExpiry(ctx: Context, user: string, token: string): Promise<void> {
  await ctx.host.jobs.schedule(expiryJobId(user, token), 'sm-expire', { user, token }, ctx.options.hibernationSeconds * 1000);
}

/**
 * Lets go of a stream's connection: no more ack requests, the socket ends without a stream
 * error, and a stanza from the client still being handled gets QUIESCE_MS to finish, so that
 * the inbound count is final.
 */
export async function releaseConnection(stream: Stream, session: C2SSession): Promise<void> {
  stream.stop();
  (session.conn as Partial<StreamConnection>).closeQuietly?.();
  await stream.quiesce(QUIESCE_MS);
}

/**
 * Moves a registry record to no node (PARKED_NODE), if it is still that bind's on `node`: any node
 * may then resume the stream `token`, and stanzas for it queue in the ResumptionStore.
 */
export async function parkRecord(host: Host, fullJid: string, sessionId: string, node: string, token: string): Promise<void> {
  const current = await host.state.registry.get(fullJid, { fresh: true });
  if (current && current.session_id === sessionId && current.node === node) {
    await host.state.registry.claim({ ...current, node: PARKED_NODE, sm_token: token });
    await host.hooks.fire('resource-moved', { fullJid, node: PARKED_NODE });
  }
}
