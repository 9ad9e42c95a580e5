// XEP-0386 Bind 2: a resource bound inside the SASL2 authentication, named after the client's
// tag and its user-agent id (stable per device across reconnects, as Prosody's mod_sasl2_bind2
// does: "<tag>.<short hash>"), then the inline features it asks for (carbons, stream
// management, CSI) enabled by their modules through the bind2-enable hook.
import { createHash } from 'node:crypto';
import { Element } from 'ltx';
import type { Host } from '../core/host.js';
import { randomId } from '../random-id.js';
import type { C2SSession } from '../core/session.js';
import { StanzaError } from '../xmpp/errors.js';
import { NS_BIND2 } from '../xmpp/ns.js';
import type { CapturingConnection, UserAgent } from './inline.js';
import type { NegotiatingConnection } from './negotiating-connection.js';

/** Longest part of the client's <tag/> kept in the resource. */
const MAX_TAG_CHARS = 32;

/** <bind xmlns='urn:xmpp:bind:0'><inline>…</inline></bind> for the SASL2 <inline/>. */
export function bind2Feature(host: Host, session: C2SSession): Element {
  const bind = new Element('bind', { xmlns: NS_BIND2 });
  const inline = bind.c('inline');
  host.hooks.fireSync('bind2-inline-features', { session, inline });
  return bind;
}

/**
 * The resource for a device: its tag, then a hash of the account and the user-agent id (the id
 * itself is not shown to contacts). No id: a random resource, with the tag in front if any.
 */
export function resourceFor(username: string, tag: string | undefined, agentId: string | undefined): string | undefined {
  const prefix = tag?.trim().replace(/[\s/@]/g, '').slice(0, MAX_TAG_CHARS) ?? '';
  const suffix = agentId === undefined
    ? randomId(6, 'base64url')
    : createHash('sha256').update(`${username}\0${agentId}`).digest('base64url').slice(0, 8);
  if (agentId === undefined && prefix === '') return undefined;
  return prefix === '' ? suffix : `${prefix}.${suffix}`;
}

/** Binds, then enables the inline features; the <bound/> (or <failed/>) to nest in <success/>. */
export async function bind2(connection: NegotiatingConnection, capture: CapturingConnection, request: Element, agent: UserAgent | undefined): Promise<Element> {
  const { host, session } = connection;
  if (host.state.reachable?.() === false) return failed(new StanzaError('resource-constraint', 'The session store is unreachable', 'wait'));
  try {
    await host.local.bind(session, resourceFor(session.username as string, request.getChildText('tag') ?? undefined, agent?.id));
  } catch (error) {
    if (!(error instanceof StanzaError)) throw error;
    return failed(error);
  }
  const bound = new Element('bound', { xmlns: NS_BIND2 });
  for (const child of request.children) {
    if (typeof child === 'string' || child.name === 'tag') continue;
    const mark = capture.mark();
    if (!(await host.hooks.fire('bind2-enable', { connection: capture, element: child, output: connection }))) continue;
    const answer = capture.takeAnswer(mark);
    if (answer) bound.cnode(answer);
  }
  return bound;
}

function failed(error: StanzaError): Element {
  const element = new Element('failed', { xmlns: NS_BIND2 });
  element.cnode(error.toElement());
  return element;
}
