// RFC 6120 §4.9 (stream errors) and §8.3 (stanza errors) as values.
// Errors carry a defined condition; they become XML at one boundary (toElement).
import { Element } from 'ltx';
import { NS_STANZAS, NS_XMPP_STREAMS } from './ns.js';

export type StanzaErrorType = 'auth' | 'cancel' | 'continue' | 'modify' | 'wait';

export type StanzaErrorCondition =
  | 'bad-request' | 'conflict' | 'feature-not-implemented' | 'forbidden' | 'gone'
  | 'internal-server-error' | 'item-not-found' | 'jid-malformed' | 'not-acceptable'
  | 'not-allowed' | 'not-authorized' | 'policy-violation' | 'recipient-unavailable'
  | 'redirect' | 'registration-required' | 'remote-server-not-found'
  | 'remote-server-timeout' | 'resource-constraint' | 'service-unavailable'
  | 'subscription-required' | 'undefined-condition' | 'unexpected-request';

export type StreamErrorCondition =
  | 'bad-format' | 'bad-namespace-prefix' | 'conflict' | 'connection-timeout' | 'host-gone'
  | 'host-unknown' | 'improper-addressing' | 'internal-server-error' | 'invalid-from'
  | 'invalid-namespace' | 'invalid-xml' | 'not-authorized' | 'not-well-formed'
  | 'policy-violation' | 'remote-connection-failed' | 'reset' | 'resource-constraint'
  | 'restricted-xml' | 'see-other-host' | 'system-shutdown' | 'undefined-condition'
  | 'unsupported-encoding' | 'unsupported-feature' | 'unsupported-stanza-type'
  | 'unsupported-version';

/** The RFC 6120 §8.3.3 default type of each condition. */
const DEFAULT_TYPE: Record<StanzaErrorCondition, StanzaErrorType> = {
  'bad-request': 'modify', conflict: 'cancel', 'feature-not-implemented': 'cancel',
  forbidden: 'auth', gone: 'cancel', 'internal-server-error': 'cancel',
  'item-not-found': 'cancel', 'jid-malformed': 'modify', 'not-acceptable': 'modify',
  'not-allowed': 'cancel', 'not-authorized': 'auth', 'policy-violation': 'modify',
  'recipient-unavailable': 'wait', redirect: 'modify', 'registration-required': 'auth',
  'remote-server-not-found': 'cancel', 'remote-server-timeout': 'wait',
  'resource-constraint': 'wait', 'service-unavailable': 'cancel',
  'subscription-required': 'auth', 'undefined-condition': 'cancel',
  'unexpected-request': 'wait',
};

export class StanzaError extends Error {
  readonly type: StanzaErrorType;
  constructor(
    readonly condition: StanzaErrorCondition,
    readonly text?: string,
    type?: StanzaErrorType,
    /** An application-specific condition element (e.g. XEP-0191 <blocked/>). */
    readonly appCondition?: Element,
  ) {
    super(text ? `${condition}: ${text}` : condition);
    this.type = type ?? DEFAULT_TYPE[condition];
  }

  /** The <error/> child of an error stanza. */
  toElement(by?: string): Element {
    const error = new Element('error', by ? { type: this.type, by } : { type: this.type });
    error.c(this.condition, { xmlns: NS_STANZAS });
    if (this.text) error.c('text', { xmlns: NS_STANZAS }).t(this.text);
    if (this.appCondition) error.cnode(this.appCondition);
    return error;
  }

  static fromElement(error: Element | undefined): StanzaError | undefined {
    if (!error) return undefined;
    const condition = error.children.find(
      (c): c is Element => typeof c !== 'string' && c.attrs.xmlns === NS_STANZAS && c.name !== 'text',
    );
    if (!condition || !(condition.name in DEFAULT_TYPE)) return undefined;
    const type = error.attrs.type as StanzaErrorType | undefined;
    return new StanzaError(condition.name as StanzaErrorCondition, error.getChildText('text', NS_STANZAS) ?? undefined, type);
  }
}

export class StreamError extends Error {
  constructor(
    readonly condition: StreamErrorCondition,
    readonly text?: string,
  ) {
    super(text ? `${condition}: ${text}` : condition);
  }

  toElement(): Element {
    const error = new Element('stream:error');
    error.c(this.condition, { xmlns: NS_XMPP_STREAMS });
    if (this.text) error.c('text', { xmlns: NS_XMPP_STREAMS }).t(this.text);
    return error;
  }
}
