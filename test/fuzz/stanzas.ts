// Well-formed but hostile stanzas (RFC 6120 §8, RFC 6121, and the XEPs the server answers):
// random and wrong types, good, bad and foreign addresses, iqs with no, one or two payloads,
// huge ids and values, unknown namespaces, and the payloads of every module with their
// attributes and children scrambled. Built as ltx elements, so the XML is always well-formed.
import fc from 'fast-check';
import { Element } from 'ltx';

const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';

/** Who the generated stanzas may name, as seen by one connection. */
export interface Parties {
  domain: string;
  /** This connection's account and resource. */
  self: { bare: string; full: string };
  /** Full JIDs of other connected resources (of this account or others): they receive, they do not answer. */
  connected: string[];
  /** Bare JIDs of other accounts (online or not). */
  accounts: string[];
}

/** How a generated `to` relates to the sender; what the server must do depends on it. */
export type Target = 'none' | 'self-bare' | 'self-full' | 'connected' | 'other' | 'malformed';

/** How the id is filled in when sent (ids are made unique per connection then). */
export type IdKind = 'none' | 'plain' | 'empty' | 'huge' | 'odd';

export interface FuzzStanza {
  name: 'message' | 'presence' | 'iq';
  type: string | undefined;
  idKind: IdKind;
  target: Target;
  /** The stanza without its id. */
  element: Element;
}

const TEXT_CHARS = [
  ...'abcxyzABC019 _-.:/@#', '&', '<', '>', '"', "'", '\t', '\n', '\r', ']]>', 'é', 'ß', 'İ', '中', '😀', '\u00a0', '\u200b',
  '\u202e', '\ufeff', 'ﬁ', '\u0301', '\ud7ff', '\ue000', '\ufffd',
];

/** Text made of characters XML allows (ltx escapes the markup ones), sometimes long. */
export const text: fc.Arbitrary<string> = fc.oneof(
  { weight: 12, arbitrary: fc.array(fc.constantFrom(...TEXT_CHARS), { maxLength: 24 }).map((cs) => cs.join('')) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...TEXT_CHARS), fc.integer({ min: 100, max: 4_000 })).map(([c, n]) => c.repeat(n)) },
);

const MALFORMED_JIDS = [
  '', '@', '@localhost', 'a@', 'a@@localhost', 'a@localhost/', '/res', 'a@b@c', 'a b@localhost', 'a@local host', 'localhost/',
  `${'x'.repeat(1100)}@localhost`, `a@${'d'.repeat(1100)}`, `a@localhost/${'r'.repeat(1100)}`, 'a@[::1', 'a@.', 'a@localhost..',
  'a"b@localhost', "a'b@localhost", 'a<b@localhost', 'a:b@localhost', 'a@xn--', 'a@-', '\u202e@localhost', 'a\u0301@localhost/\u200b',
];

/** A value for a `to` (or an item's jid) and what it names. */
function jidFor(parties: Parties, target: Target): fc.Arbitrary<string | undefined> {
  const { domain, self } = parties;
  switch (target) {
    case 'none':
      return fc.constant(undefined);
    case 'self-bare':
      return fc.constantFrom(self.bare, self.bare.toUpperCase());
    case 'self-full':
      return fc.constant(self.full);
    case 'connected':
      return parties.connected.length > 0 ? fc.constantFrom(...parties.connected) : fc.constant(domain);
    case 'other':
      return fc.oneof(
        fc.constantFrom(domain, `${domain}/x`, `nobody@${domain}`, `nobody@${domain}/r`, `${self.bare}/gone`, 'someone@example.org', 'example.org', 'ghost@example.net/r'),
        fc.constantFrom(...(parties.accounts.length > 0 ? parties.accounts : [domain])),
        fc.constantFrom(...parties.accounts.map((bare) => `${bare}/gone`), `${domain}/gone`),
        fc.tuple(fc.array(fc.constantFrom(...'abcxyz019.-_'), { minLength: 1, maxLength: 12 }), fc.constantFrom(domain, 'example.com')).map(([l, d]) => `${l.join('')}@${d}`),
      );
    case 'malformed':
      return fc.oneof(fc.constantFrom(...MALFORMED_JIDS), text);
  }
}

/** Any JID-ish value, for item jids and `from` attributes. */
function anyJid(parties: Parties): fc.Arbitrary<string | undefined> {
  return fc.constantFrom<Target>('none', 'self-bare', 'self-full', 'connected', 'other', 'other', 'malformed').chain((t) => jidFor(parties, t));
}

function el(name: string, attrs: Record<string, string | undefined>, children: Array<Element | string> = []): Element {
  const clean: Record<string, string> = {};
  for (const [key, value] of Object.entries(attrs)) if (value !== undefined) clean[key] = value;
  const element = new Element(name, clean);
  for (const child of children) element.cnode(child as Element);
  return element;
}

const maybe = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(arb, { nil: undefined, freq: 2 });

/** An element nobody knows: random name, namespace, attributes, text and children. */
const unknownElement: fc.Arbitrary<Element> = fc.letrec<{ node: Element }>((tie) => ({
  node: fc
    .tuple(
      fc.constantFrom('x', 'query', 'item', 'data', 'a', 'body', 'error', 'ping', 'enable', 'q'),
      fc.constantFrom(undefined, '', 'urn:fuzz', 'urn:fuzz:other', 'jabber:client', 'jabber:iq:roster', 'urn:xmpp:ping', 'http://jabber.org/protocol/disco#info'),
      fc.dictionary(fc.constantFrom('a', 'b', 'jid', 'node', 'type', 'id', 'xml:lang', 'ver', 'h'), text, { maxKeys: 3 }),
      fc.array(fc.oneof({ weight: 2, arbitrary: text }, { weight: 1, arbitrary: tie('node') }), { maxLength: 3, depthIdentifier: 'unknown' }),
    )
    .map(([name, xmlns, attrs, children]) => el(name, { ...attrs, xmlns }, children)),
})).node;

const groups: fc.Arbitrary<string[]> = fc.oneof(
  fc.array(text, { maxLength: 4 }),
  fc.constant<string[]>(['dup', 'dup']),
  fc.constant<string[]>(['']),
  fc.integer({ min: 60, max: 70 }).map((n) => Array.from({ length: n }, (_, i) => `g${i}`)),
);

function rosterQuery(parties: Parties): fc.Arbitrary<Element> {
  const item = fc
    .record({
      jid: anyJid(parties),
      name: maybe(fc.oneof(text, fc.constant('n'.repeat(1100)))),
      subscription: maybe(fc.constantFrom('none', 'to', 'from', 'both', 'remove', 'bogus', '')),
      ask: maybe(fc.constantFrom('subscribe', 'x')),
      groups,
    })
    .map(({ groups: gs, ...attrs }) => el('item', attrs, gs.map((g) => el('group', {}, [g]))));
  return fc
    .tuple(maybe(fc.constantFrom('1', '0', '', 'x', '99999999999999999999')), fc.array(fc.oneof(item, unknownElement), { maxLength: 3 }))
    .map(([ver, items]) => el('query', { xmlns: 'jabber:iq:roster', ver }, items));
}

function blockingPayload(parties: Parties): fc.Arbitrary<Element> {
  return fc
    .tuple(fc.constantFrom('blocklist', 'block', 'unblock', 'blocked'), fc.array(anyJid(parties), { maxLength: 3 }))
    .map(([name, jids]) => el(name, { xmlns: 'urn:xmpp:blocking' }, jids.map((jid) => el('item', { jid }))));
}

/** A forwarded (carbon-looking) message, as a client might forge one. */
function forwarded(parties: Parties): fc.Arbitrary<Element> {
  return fc
    .tuple(fc.constantFrom('sent', 'received'), anyJid(parties), text)
    .map(([name, from, body]) =>
      el(name, { xmlns: 'urn:xmpp:carbons:2' }, [el('forwarded', { xmlns: 'urn:xmpp:forward:0' }, [el('message', { xmlns: 'jabber:client', from, type: 'chat' }, [el('body', {}, [body])])])]),
    );
}

function stanzaError(): fc.Arbitrary<Element> {
  return fc
    .tuple(maybe(fc.constantFrom('cancel', 'modify', 'auth', 'wait', 'continue', 'bogus')), fc.constantFrom('item-not-found', 'bad-request', 'bogus-condition', 'service-unavailable'), maybe(text))
    .map(([type, condition, t]) => el('error', { type }, [el(condition, { xmlns: NS_STANZAS }), ...(t === undefined ? [] : [el('text', { xmlns: NS_STANZAS }, [t])])]));
}

/** Payloads of the modules the server runs, with scrambled attributes and children. */
function payload(parties: Parties): fc.Arbitrary<Element> {
  const simple = (xmlns: string, ...names: string[]): fc.Arbitrary<Element> =>
    fc
      .tuple(fc.constantFrom(...names), fc.dictionary(fc.constantFrom('node', 'ver', 'jid', 'h', 'resume', 'previd', 'max'), text, { maxKeys: 2 }), fc.array(unknownElement, { maxLength: 2 }))
      .map(([name, attrs, children]) => el(name, { ...attrs, xmlns }, children));
  return fc.oneof(
    { weight: 4, arbitrary: rosterQuery(parties) },
    { weight: 3, arbitrary: blockingPayload(parties) },
    { weight: 2, arbitrary: simple('http://jabber.org/protocol/disco#info', 'query') },
    { weight: 2, arbitrary: simple('http://jabber.org/protocol/disco#items', 'query') },
    { weight: 3, arbitrary: simple('urn:xmpp:ping', 'ping') },
    { weight: 2, arbitrary: simple('jabber:iq:version', 'query') },
    { weight: 3, arbitrary: simple('urn:xmpp:carbons:2', 'enable', 'disable', 'private', 'sent', 'received') },
    { weight: 1, arbitrary: forwarded(parties) },
    { weight: 2, arbitrary: simple('urn:xmpp:sm:3', 'enable', 'r', 'a', 'resume', 'enabled') },
    { weight: 1, arbitrary: simple('urn:ietf:params:xml:ns:xmpp-bind', 'bind') },
    { weight: 1, arbitrary: simple('urn:ietf:params:xml:ns:xmpp-session', 'session') },
    { weight: 1, arbitrary: simple('jabber:iq:register', 'query') },
    { weight: 1, arbitrary: simple('msgoffline', 'offline') },
    { weight: 1, arbitrary: stanzaError() },
    { weight: 3, arbitrary: unknownElement },
  );
}

/** What presence and messages carry besides module payloads. */
const presenceChild: fc.Arbitrary<Element> = fc.oneof(
  fc.constantFrom('away', 'chat', 'dnd', 'xa', '', 'bogus').map((s) => el('show', {}, [s])),
  text.map((s) => el('status', {}, [s])),
  fc.constantFrom('0', '-1', '127', '-128', '128', '-129', '999999999999999999999', '1.5', '', 'x', ' 5 ', '+3', '0x10').map((p) => el('priority', {}, [p])),
  fc.constant(el('c', { xmlns: 'http://jabber.org/protocol/caps', hash: 'sha-1', node: 'n', ver: 'v' })),
  fc.constant(el('x', { xmlns: 'http://jabber.org/protocol/muc#user' })),
  fc.constant(el('delay', { xmlns: 'urn:xmpp:delay', from: 'localhost', stamp: 'not-a-date' })),
);

const messageChild: fc.Arbitrary<Element> = fc.oneof(
  text.map((s) => el('body', {}, [s])),
  text.map((s) => el('subject', {}, [s])),
  text.map((s) => el('thread', { parent: 'p' }, [s])),
  fc.constantFrom('active', 'composing', 'gone').map((s) => el(s, { xmlns: 'http://jabber.org/protocol/chatstates' })),
  fc.constant(el('private', { xmlns: 'urn:xmpp:carbons:2' })),
  fc.constant(el('no-copy', { xmlns: 'urn:xmpp:hints' })),
  fc.constant(el('x', { xmlns: 'http://jabber.org/protocol/muc#user' })),
  fc.constant(el('delay', { xmlns: 'urn:xmpp:delay', from: 'localhost', stamp: '2000-01-01T00:00:00Z' })),
);

const TYPES = {
  iq: ['get', 'get', 'get', 'set', 'set', 'set', 'result', 'error', '', 'GET', 'normal', 'chat'],
  message: ['chat', 'normal', 'groupchat', 'headline', 'error', '', 'bogus', 'get'],
  presence: ['unavailable', 'subscribe', 'subscribed', 'unsubscribe', 'unsubscribed', 'probe', 'error', 'invisible', '', 'set'],
} as const;

/** One hostile stanza addressed from the point of view of `parties`. */
export function fuzzStanza(parties: Parties): fc.Arbitrary<FuzzStanza> {
  const target = fc.constantFrom<Target>('none', 'none', 'self-bare', 'self-full', 'connected', 'other', 'other', 'other', 'malformed');
  const idKind = fc.constantFrom<IdKind>('plain', 'plain', 'plain', 'plain', 'none', 'empty', 'huge', 'odd');
  const extraAttrs = fc.dictionary(fc.constantFrom('from', 'xml:lang', 'foo', 'xmlns:p', 'p:q', 'version', 'by'), fc.oneof(text, anyJid(parties).map((j) => j ?? '')), { maxKeys: 3 });
  return fc
    .tuple(fc.constantFrom('message', 'presence', 'iq', 'iq', 'iq'), target, idKind, extraAttrs)
    .chain(([name, t, id, extra]) => {
      const types = TYPES[name];
      const children =
        name === 'iq'
          ? fc.oneof(
              { weight: 6, arbitrary: payload(parties).map((p) => [p]) },
              { weight: 1, arbitrary: fc.constant([]) },
              { weight: 1, arbitrary: fc.tuple(payload(parties), payload(parties)) },
              { weight: 1, arbitrary: fc.tuple(text, payload(parties), text) },
            )
          : fc.array(fc.oneof(name === 'message' ? messageChild : presenceChild, payload(parties), stanzaError()), { maxLength: 4 });
      return fc.tuple(fc.constant(name), fc.constant(t), fc.constant(id), fc.constant(extra), maybe(fc.constantFrom(...types)), jidFor(parties, t), children);
    })
    .map(([name, t, id, extra, type, to, children]): FuzzStanza => {
      // A prefixed attribute needs its prefix bound to stay well-formed.
      const attrs: Record<string, string | undefined> = { ...extra, type, to };
      if (attrs['p:q'] !== undefined) attrs['xmlns:p'] = 'urn:fuzz:p';
      else delete attrs['xmlns:p'];
      const element = el(name, attrs, children as Array<Element | string>);
      const stanza = { name, type, idKind: id, target: t, element };
      Object.defineProperty(stanza, fc.toStringMethod, { value: () => `${t}/${id}: ${shorten(element.toString())}` });
      return stanza;
    })
    .filter(({ element }) => Buffer.byteLength(element.toString()) < MAX_STANZA_BYTES);
}

/** Under the server's stanza size limit: a larger stanza is a stream error by design. */
const MAX_STANZA_BYTES = 200_000;

/** A long XML string for a report: runs of one character or unit elided, the middle cut. */
export function shorten(xml: string, max = 600): string {
  const compact = xml.replace(/(.{1,8}?)\1{15,}/gs, (run, unit: string) => `${unit}{×${run.length / unit.length}}`);
  return compact.length > max ? `${compact.slice(0, max / 2)}…${compact.slice(-max / 2)}` : compact;
}

/** The id a stanza is sent with: unique within the connection's run, however hostile its form. */
export function idFor(kind: IdKind, unique: string): string | undefined {
  switch (kind) {
    case 'none':
      return undefined;
    case 'empty':
      return '';
    case 'plain':
      return unique;
    case 'huge':
      return `${unique}-${'i'.repeat(4000)}`;
    case 'odd':
      return `${unique}'"<>&\u202e😀 `;
  }
}
