// Stanzas a session was sent but never took (a client that stopped reading and was cut off):
// messages go to offline storage as if the resource had gone (RFC 6121 §8.5.2.1.1), requests are
// answered with an error, presence is dropped (the next probe repeats it). Nothing silently lost.
import { parse, type Element } from 'ltx';
import { StanzaError } from '../xmpp/errors.js';
import { tryParseJid } from '../xmpp/jid.js';
import { kindOfXml } from '../telemetry.js';
import type { Host } from './host.js';
import type { C2SSession } from './session.js';

export async function rescueUndelivered(host: Host, session: C2SSession, xmls: readonly string[]): Promise<void> {
  const account = session.bare_jid === undefined ? undefined : tryParseJid(session.bare_jid);
  for (const xml of xmls) {
    const kind = kindOfXml(xml);
    if (kind === 'other') continue;
    if (kind === 'presence') {
      host.telemetry.routed('discarded');
      continue;
    }
    let stanza: Element;
    try {
      stanza = parse(xml);
    } catch {
      continue; // written by this server, so well-formed; a stream-level fragment at worst
    }
    const from = tryParseJid(String(stanza.attrs.from ?? host.domain));
    if (kind === 'message' && account && from) {
      if (await host.hooks.fire('message/offline', { stanza, kind, from, to: account })) continue;
    }
    await host.router.bounce(stanza, new StanzaError('recipient-unavailable', 'The recipient stopped reading'));
  }
}
