// Which stanzas an inactive client (XEP-0352) gets at once: mod_csi_simple's rules, widened to
// encrypted messages, calls and invitations.
import { parse, type Element } from 'ltx';
import { describe, expect, it } from 'vitest';
import { urgent } from '../../src/modules/csi.js';

const of = (xml: string): Element => parse(xml) as Element;

describe('what an inactive client gets at once', () => {
  it.each([
    [`<message type='chat'><body>hi</body></message>`, true],
    [`<message type='chat'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>`, false],
    [`<message type='headline'><body>news</body></message>`, false],
    [`<message><encrypted xmlns='eu.siacs.conversations.axolotl'/></message>`, true],
    [`<message><propose xmlns='urn:xmpp:jingle-message:0' id='c1'/></message>`, true],
    [`<message><x xmlns='http://jabber.org/protocol/muc#user'><invite from='a@b'/></x></message>`, true],
    [`<message><x xmlns='http://jabber.org/protocol/muc#user'><status code='110'/></x></message>`, false],
    [`<message><event xmlns='http://jabber.org/protocol/pubsub#event'/></message>`, false],
    [`<message><sent xmlns='urn:xmpp:carbons:2'/></message>`, true],
    [`<message><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message><body>x</body></message></forwarded></received></message>`, true],
    [`<message><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message><active xmlns='http://jabber.org/protocol/chatstates'/></message></forwarded></received></message>`, false],
    [`<presence/>`, false],
    [`<presence type='unavailable'/>`, false],
    [`<presence type='subscribe'/>`, true],
    [`<iq type='result' id='1'/>`, true],
  ])('%s → %s', (xml, expected) => {
    expect(urgent(of(xml))).toBe(expected);
  });
});
