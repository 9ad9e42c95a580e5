// Helpers shared by the SASL mechanisms.
import { DEFAULT_ITERATIONS, saslprep } from './credentials.js';
import { SaslError } from './errors.js';
import type { SaslContext, SaslServerMechanism, SaslStep } from './mechanism.js';

/** Longest client message accepted by any mechanism. */
export const MAX_MESSAGE_BYTES = 8192;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Strict UTF-8 (no overlongs, no surrogates); undefined if invalid. */
export function decodeUtf8(bytes: Buffer): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

export function failure(condition: SaslError['condition'], text?: string, username?: string): SaslStep {
  const error = new SaslError(condition, text);
  return username === undefined ? { kind: 'failure', error } : { kind: 'failure', error, username };
}

/**
 * A failure before any password was checked (an unsupported channel-binding type, a downgrade
 * flag): no guess at a password, so not counted against the address or the account. Debian's
 * slixmpp 1.8 asks for tls-unique on TLS 1.3 and then falls back mechanism by mechanism; counting
 * those would slow down every client behind its address.
 */
export function negotiationFailure(condition: SaslError['condition'], text: string): SaslStep {
  return { kind: 'failure', error: new SaslError(condition, text), passwordUnchecked: true };
}

export function unknownIterations(ctx: SaslContext): number {
  const n = ctx.unknownUserIterations;
  return n !== undefined && Number.isSafeInteger(n) && n >= 1 ? n : DEFAULT_ITERATIONS;
}

/**
 * RFC 6120 §6.3.8: an empty authzid, or one equal to the authenticated bare JID, is fine.
 * The localpart of the authzid is prepared like the authcid and the domain compared
 * ASCII-case-insensitively; anything else is invalid-authzid.
 */
export function authzidAllowed(authzid: string, username: string, ctx: SaslContext): boolean {
  if (authzid === '') return true;
  if (authzid === `${username}@${ctx.domain}`) return true;
  const at = authzid.indexOf('@');
  if (at <= 0 || authzid.includes('/')) return false;
  const domain = authzid.slice(at + 1);
  if (domain.toLowerCase() !== ctx.domain.toLowerCase()) return false;
  try {
    return ctx.prepUsername(authzid.slice(0, at)) === username;
  } catch {
    return false;
  }
}

/**
 * SASLprep then RFC 7622 localpart preparation of an authcid. Undefined when either
 * rejects it: the caller answers not-authorized, as for a wrong password.
 */
export function prepareAuthcid(authcid: string, ctx: SaslContext): string | undefined {
  try {
    const prepared = ctx.prepUsername(saslprep(authcid));
    return typeof prepared === 'string' && prepared.length > 0 ? prepared : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Single-use state machine plumbing common to every mechanism: once a success or
 * failure has been returned, or if the caller overlaps two steps, every further step
 * fails with malformed-request; nothing a subclass throws escapes.
 */
export abstract class BaseMechanism implements SaslServerMechanism {
  abstract readonly name: string;
  /** The prepared username once known, reported with failures for throttling. */
  protected username: string | undefined;
  private finished = false;
  private busy = false;
  private overlapped = false;

  async step(response: Buffer): Promise<SaslStep> {
    if (this.finished) return failure('malformed-request', 'Authentication exchange already finished');
    if (this.busy) {
      this.overlapped = true;
      this.finished = true;
      return failure('malformed-request', 'Overlapping SASL messages', this.username);
    }
    this.busy = true;
    let result: SaslStep;
    try {
      const bytes = Buffer.isBuffer(response) ? response : Buffer.from(response);
      result = bytes.length > MAX_MESSAGE_BYTES
        ? failure('malformed-request', 'Message too long', this.username)
        : await this.advance(bytes);
    } catch (err) {
      result = err instanceof SaslError
        ? (this.username === undefined ? { kind: 'failure', error: err } : { kind: 'failure', error: err, username: this.username })
        : failure('temporary-auth-failure', undefined, this.username);
    } finally {
      this.busy = false;
    }
    if (this.overlapped) return failure('malformed-request', 'Overlapping SASL messages', this.username);
    if (result.kind !== 'challenge') this.finished = true;
    return result;
  }

  /** One client message (at most MAX_MESSAGE_BYTES) to the next step. May throw. */
  protected abstract advance(response: Buffer): Promise<SaslStep>;
}
