// What becomes of stanzas a client never acknowledged when its session really ends (XEP-0198
// §5 leaves it to the server; Prosody's mod_smacks: nothing is lost). Messages are routed again
// to the account, so they reach another resource or offline storage; other stanzas that asked
// for an answer get recipient-unavailable.
import { parse } from 'ltx';
import type { Host } from '../../core/host.js';
import type { QueuedStanza } from '../../state/resumption.js';
import { StanzaError } from '../../xmpp/errors.js';
import { parseJid } from '../../xmpp/jid.js';
import { stanzaType, withDelay } from '../../xmpp/stanza.js';

export async function settleUnacked(host: Host, fullJid: string, queue: readonly QueuedStanza[]): Promise<void> {
  const owner = parseJid(fullJid);
  for (const item of queue) {
    let stanza;
    try {
      stanza = parse(item.xml);
    } catch {
      host.log.error({ event: 'sm_unparseable_queued_stanza' });
      continue;
    }
    const type = stanzaType(stanza);
    if (type === 'error') continue;
    if (stanza.name === 'message' && (type === undefined || type === 'chat' || type === 'normal')) {
      const from = stanza.attrs.from === undefined ? undefined : parseJid(String(stanza.attrs.from));
      // Keep when it was first sent; it goes to the account's other resources or offline storage.
      const delayed = withDelay(stanza, host.domain, new Date(item.stamp));
      await host.router.route({ stanza: delayed, kind: 'message', from: from ?? parseJid(host.domain), to: owner.bareJid() });
      continue;
    }
    if (stanza.name === 'presence' || stanza.attrs.from === fullJid || stanza.attrs.from === undefined) continue;
    if (stanza.name === 'iq' && type === 'result') continue;
    await host.router.bounce(stanza, new StanzaError('recipient-unavailable'));
  }
}
