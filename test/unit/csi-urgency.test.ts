// Which stanzas an inactive client (XEP-0352) gets at once: mod_csi_simple's rules, widened to
// encrypted messages, calls and invitations, and to every message a push is sent for.
import { parse, type Element } from 'ltx';
import { describe, expect, it } from 'vitest';
import { urgent } from '../../src/modules/csi.js';
import { importantMessage } from '../../src/xmpp/important.js';

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

/** Messages a push notification (XEP-0357) is sent for when they are held for an absent client. */
const PUSHED = [
  `<message type='chat'><body>hi</body></message>`,
  `<message type='groupchat'><body>all of you</body></message>`,
  `<message><encrypted xmlns='eu.siacs.conversations.axolotl'/></message>`,
  `<message><encrypted xmlns='urn:xmpp:omemo:1'/></message>`,
  `<message><encrypted xmlns='urn:xmpp:omemo:2'/></message>`,
  `<message><x xmlns='jabber:x:encrypted'>…</x></message>`,
  `<message><openpgp xmlns='urn:xmpp:openpgp:0'>…</openpgp></message>`,
  `<message><propose xmlns='urn:xmpp:jingle-message:0' id='c1'/></message>`,
  `<message><propose xmlns='urn:xmpp:jingle-message:1' id='c2'/></message>`,
  `<message><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message><encrypted xmlns='urn:xmpp:omemo:1'/></message></forwarded></received></message>`,
];

const NOT_PUSHED = [
  `<message type='chat'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>`,
  `<message type='chat'><body></body></message>`,
  `<message type='headline'><body>news</body></message>`,
  `<message type='error'><body>bounced</body></message>`,
  `<message type='groupchat'><subject>topic</subject><body>topic changed</body></message>`,
  `<message><sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message><body>mine</body></message></forwarded></sent></message>`,
  `<presence type='subscribe'/>`,
];

describe('messages that are pushed (one definition with client state indication)', () => {
  it.each(PUSHED)('%s is pushed, and an inactive client gets it at once', (xml) => {
    expect(importantMessage(of(xml))).toBeDefined();
    expect(urgent(of(xml))).toBe(true);
  });

  it.each(NOT_PUSHED)('%s is not pushed', (xml) => {
    expect(importantMessage(of(xml))).toBeUndefined();
  });
});
