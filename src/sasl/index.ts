// The SASL mechanisms this server offers (RFC 6120 §6), and the one place that builds them:
// the stream layer imports this file, never a mechanism's own.
import type { SaslContext, SaslServerMechanism } from './mechanism.js';
import { PlainMechanism } from './plain.js';
import { ScramMechanism } from './scram.js';

export type { ChannelBindingType, SaslContext, SaslServerMechanism, SaslStep } from './mechanism.js';
export { SaslError } from './errors.js';
export { keysUnknownText } from './scram.js';
export { HT_MECHANISMS, HtMechanism, type FastCandidate, type FastVerifier } from './ht.js';
export type { SaslCondition } from './errors.js';

/** Offered mechanisms, most preferred first. PLAIN must only be offered over TLS (the caller's job). */
export const MECHANISMS: readonly string[] = Object.freeze(['SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN']);

export function createMechanism(name: string, ctx: SaslContext): SaslServerMechanism | undefined {
  switch (name) {
    case 'SCRAM-SHA-256': return new ScramMechanism('SHA-256', ctx);
    case 'SCRAM-SHA-1': return new ScramMechanism('SHA-1', ctx);
    case 'SCRAM-SHA-256-PLUS': return new ScramMechanism('SHA-256', ctx, true);
    case 'SCRAM-SHA-1-PLUS': return new ScramMechanism('SHA-1', ctx, true);
    case 'PLAIN': return new PlainMechanism(ctx);
    default: return undefined;
  }
}
