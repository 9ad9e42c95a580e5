// RFC 6120 §6.5 SASL failure conditions as values.
// A mechanism never throws at its caller: it returns { kind: 'failure', error } and the
// stream layer turns the error into a <failure/> element at one boundary (toElement).
import { Element } from 'ltx';
import { NS_SASL } from '../xmpp/ns.js';

export type SaslCondition =
  | 'aborted' | 'account-disabled' | 'credentials-expired' | 'encryption-required'
  | 'incorrect-encoding' | 'invalid-authzid' | 'invalid-mechanism' | 'malformed-request'
  | 'mechanism-too-weak' | 'not-authorized' | 'temporary-auth-failure';

export class SaslError extends Error {
  constructor(
    readonly condition: SaslCondition,
    /** Human-readable text sent to the client: it must never reveal whether an account exists. */
    readonly text?: string,
  ) {
    super(text ? `${condition}: ${text}` : condition);
  }

  /** The RFC 6120 §6.4.5 <failure/> element. */
  toElement(): Element {
    const failure = new Element('failure', { xmlns: NS_SASL });
    failure.c(this.condition);
    if (this.text) failure.c('text').t(this.text);
    return failure;
  }
}
