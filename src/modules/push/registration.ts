// XEP-0357 §5 and §6: what a client's <enable/> and <disable/> ask, checked as Prosody's
// mod_cloud_notify checks them (a missing jid, or the client's own, is bad-request).
import { clone, type Element } from 'ltx';
import type { PushRegistration } from '../../state/push.js';
import { StanzaError } from '../../xmpp/errors.js';
import { tryParseJid } from '../../xmpp/jid.js';

const NS_DATA = 'jabber:x:data';
/**
 * Rookery's own publish-options field: `include-body` = `1`/`true` asks for the message body in
 * the summary (XEP-0357 leaves it to the server; Prosody decides it server-wide). It is taken
 * out of the form before the form goes to the app server, which would not know it.
 */
export const INCLUDE_BODY_FIELD = 'include-body';

function appServer(request: Element, user: string): string {
  const jid = request.attrs.jid;
  if (typeof jid !== 'string' || jid === '') throw new StanzaError('bad-request', 'Missing jid');
  const parsed = tryParseJid(jid);
  if (!parsed) throw new StanzaError('jid-malformed');
  if (parsed.bare === user) throw new StanzaError('bad-request', 'JID must be different from ours');
  return parsed.full;
}

/** The registration an <enable/> asks for. */
export function enableRequest(enable: Element, user: string, now: number): PushRegistration {
  const jid = appServer(enable, user);
  const node = typeof enable.attrs.node === 'string' ? enable.attrs.node : '';
  const form = enable.getChild('x', NS_DATA);
  let includeBody = false;
  let options: string | undefined;
  if (form) {
    const forwarded = clone(form);
    forwarded.children = forwarded.children.filter((child) => {
      if (typeof child === 'string' || child.name !== 'field' || child.attrs.var !== INCLUDE_BODY_FIELD) return true;
      includeBody = ['1', 'true'].includes(child.getChildText('value')?.trim() ?? '');
      return false;
    });
    options = forwarded.toString();
  }
  return { jid, node, ...(options === undefined ? {} : { options }), includeBody, since: now };
}

/** What a <disable/> names: one node of an app server, or all of them. */
export function disableRequest(disable: Element, user: string): { jid: string; node?: string } {
  const jid = appServer(disable, user);
  return typeof disable.attrs.node === 'string' ? { jid, node: disable.attrs.node } : { jid };
}
