// HT-SHA-256-* (draft-schmaus-kitten-sasl-ht), the mechanisms of XEP-0484 FAST tokens:
//   initial response = authcid NUL HMAC-SHA-256(token, "Initiator" || cb-data)
//   success data     = HMAC-SHA-256(token, "Responder" || cb-data)
// cb-data is empty for -NONE, else the channel binding named by the suffix: -UNIQ tls-unique,
// -ENDP tls-server-end-point, -EXPR tls-exporter. Which tokens a user may present, and recording
// a use (count, rotation), are the FastVerifier's: the stream layer knows the device.
import { createHmac } from 'node:crypto';
import { constantTimeEqual } from './credentials.js';
import { BaseMechanism, failure, prepareAuthcid } from './common.js';
import type { ChannelBindingType, SaslContext, SaslStep } from './mechanism.js';

export const HT_MECHANISMS: Readonly<Record<string, ChannelBindingType | 'none'>> = Object.freeze({
  'HT-SHA-256-EXPR': 'tls-exporter',
  'HT-SHA-256-UNIQ': 'tls-unique',
  'HT-SHA-256-ENDP': 'tls-server-end-point',
  'HT-SHA-256-NONE': 'none',
});

/** A token the user may present, by where it is kept. */
export interface FastCandidate {
  slot: 'current' | 'previous';
  secret: string;
}

export interface FastVerifier {
  /** The tokens of the user's device issued for this mechanism. */
  candidates(username: string, mechanism: string): Promise<FastCandidate[]>;
  /** Records the use of the matching token; false refuses the login (a replayed count, a token revoked meanwhile). */
  use(username: string, candidate: FastCandidate): Promise<boolean>;
}

function mac(secret: string, label: string, cbData: Buffer): Buffer {
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(Buffer.concat([Buffer.from(label), cbData])).digest();
}

export class HtMechanism extends BaseMechanism {
  constructor(
    readonly name: string,
    private readonly ctx: SaslContext,
    private readonly verifier: FastVerifier,
  ) {
    super();
  }

  protected async advance(response: Buffer): Promise<SaslStep> {
    const binding = HT_MECHANISMS[this.name];
    if (binding === undefined) return failure('invalid-mechanism');
    const cbData = binding === 'none' ? Buffer.alloc(0) : this.ctx.channelBinding?.(binding);
    if (!cbData) return failure('not-authorized', 'This connection has no channel binding of that type');
    const nul = response.indexOf(0);
    if (nul <= 0) return failure('malformed-request', 'Expected authcid NUL HMAC');
    const username = prepareAuthcid(response.subarray(0, nul).toString('utf8'), this.ctx);
    if (username === undefined) return failure('not-authorized');
    this.username = username;
    const presented = response.subarray(nul + 1);
    let candidates: FastCandidate[];
    try {
      candidates = await this.verifier.candidates(username, this.name);
    } catch {
      return failure('temporary-auth-failure', undefined, username);
    }
    const match = candidates.find((candidate) => constantTimeEqual(mac(candidate.secret, 'Initiator', cbData), presented));
    if (!match) return failure('not-authorized', undefined, username);
    let used: boolean;
    try {
      used = await this.verifier.use(username, match);
    } catch {
      return failure('temporary-auth-failure', undefined, username);
    }
    if (!used) return failure('not-authorized', 'The token was used with that count already, or was revoked', username);
    return { kind: 'success', username, data: mac(match.secret, 'Responder', cbData) };
  }
}
