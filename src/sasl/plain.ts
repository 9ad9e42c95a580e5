// PLAIN server (RFC 4616): message = [authzid] NUL authcid NUL passwd.
// The password is checked against the stored SCRAM keys (SHA-256, else SHA-1) by
// re-deriving them; on success the keys of a hash that are unknown are derived and stored.
// Unknown accounts cost a comparable dummy derivation so that response time does not reveal
// which accounts exist.
import { randomBytes } from 'node:crypto';
import {
  deriveScramKeys, SALT_BYTES, saltedPassword, saslprep, SCRAM_HASHES, verifyPassword,
  type ScramHash, type ScramKeys, type StoredCredentials,
} from './credentials.js';
import { keysKnown } from '../state/accounts.js';
import { BaseMechanism, authzidAllowed, decodeUtf8, failure, prepareAuthcid, unknownIterations } from './common.js';
import type { SaslContext, SaslStep } from './mechanism.js';

const DUMMY_SALT = randomBytes(16);

export class PlainMechanism extends BaseMechanism {
  readonly name = 'PLAIN';
  private sentEmptyChallenge = false;

  constructor(private readonly ctx: SaslContext) {
    super();
  }

  protected async advance(response: Buffer): Promise<SaslStep> {
    if (response.length === 0) {
      if (this.sentEmptyChallenge) return failure('malformed-request', 'Empty PLAIN message');
      this.sentEmptyChallenge = true;
      return { kind: 'challenge', data: Buffer.alloc(0) };
    }
    const text = decodeUtf8(response);
    if (text === undefined) return failure('malformed-request', 'Invalid UTF-8');
    const fields = text.split('\0');
    if (fields.length !== 3) return failure('malformed-request', 'Expected authzid NUL authcid NUL password');
    const [authzid, authcid, password] = fields as [string, string, string];
    if (authcid === '' || password === '') return failure('malformed-request', 'Empty authcid or password');

    let preparedPassword: string;
    try {
      preparedPassword = saslprep(password);
    } catch {
      return failure('malformed-request', 'Password rejected by SASLprep');
    }
    const username = prepareAuthcid(authcid, this.ctx);
    if (username === undefined) return failure('not-authorized');
    this.username = username;
    if (!authzidAllowed(authzid, username, this.ctx)) return failure('invalid-authzid', undefined, username);

    let credentials;
    try {
      credentials = await this.ctx.lookup(username);
    } catch {
      return failure('temporary-auth-failure', undefined, username);
    }
    const stored = credentials as Partial<Record<ScramHash, ScramKeys>> | undefined;
    // SHA-256 keys with no iterations are unknown (imported from SCRAM-SHA-1 keys alone, xep0227/account.ts).
    const hash: ScramHash = keysKnown(stored?.['SHA-256']) ? 'SHA-256' : 'SHA-1';
    const keys = stored?.[hash];
    if (!keys) {
      await saltedPassword(preparedPassword, DUMMY_SALT, unknownIterations(this.ctx), 'SHA-256');
      return failure('not-authorized', undefined, username);
    }
    if (!(await verifyPassword(password, keys, hash))) return failure('not-authorized', undefined, username);
    if (credentials) await this.completeKeys(username, password, credentials);
    return { kind: 'success', username };
  }

  /**
   * After a migration (XEP-0227 import with SCRAM-SHA-1 keys only), or a raise of the iteration
   * count, the password is seen here once: the missing or weaker keys are derived and stored, as Prosody and ejabberd re-key a user at login. The
   * store call is a compare-and-set on what was read, so a password changed meanwhile is kept. A
   * failure here costs only the upgrade, never the login.
   */
  private async completeKeys(username: string, password: string, credentials: StoredCredentials): Promise<void> {
    // Keys derived with fewer iterations than configured now are upgraded the same way.
    const target = unknownIterations(this.ctx);
    const missing = SCRAM_HASHES.filter((hash) => !keysKnown(credentials[hash]) || (credentials[hash]?.iterations ?? 0) < target);
    if (missing.length === 0 || !this.ctx.replaceCredentials) return;
    try {
      const next: StoredCredentials = { ...credentials };
      for (const hash of missing) next[hash] = await deriveScramKeys(password, hash, randomBytes(SALT_BYTES), unknownIterations(this.ctx));
      await this.ctx.replaceCredentials(username, credentials, next);
    } catch {
      // The caller logs what its replaceCredentials did; the login stands either way.
    }
  }
}
