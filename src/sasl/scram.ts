// SCRAM-SHA-1 / SCRAM-SHA-256 server (RFC 5802, RFC 7677), and their -PLUS variants bound to the
// TLS channel (RFC 5802 §6; the data comes from SaslContext.channelBinding).
//
//   client-first  = gs2-header client-first-bare      e.g. "n,,n=user,r=<cnonce>", "p=tls-exporter,,…"
//   server-first  = "r=" cnonce snonce ",s=" salt ",i=" iterations [",h=" b64(H(ssdp))]
//   ssdp          = sorted mechanisms joined by %x1E [%x1F sorted cb types joined by %x1E]
//
// The h attribute is XEP-0474's downgrade protection (0.4.0 and later; 0.3.0 called it d and
// joined with ',' and '|'): the client compares it with the hash of what it was offered, so an
// attacker who stripped -PLUS or a binding type from the features is caught.
//   client-final  = "c=" b64(gs2-header) ",r=" nonce ["," ext] ",p=" b64(ClientProof)
//   server-final  = "v=" b64(ServerSignature)
//
// Unknown accounts get a challenge with a fake salt that is stable per username (an HMAC
// under a process-random secret) and the usual iteration count, and fail only at the
// final step with the same not-authorized as a wrong password.
//
// An account whose keys for this hash are unknown (imported with SCRAM-SHA-1 keys only) fails
// at once with not-authorized and keysUnknownText, not counted as a wrong password: a client
// that tries the next mechanism offered logs in with the other SCRAM hash, and one login with
// PLAIN stores the missing keys (plain.ts). Not every client retries (Conversations does not). This tells whoever asks that the account exists and
// was imported; no password is checked, so it helps no guessing (README: Accounts imported with
// SCRAM-SHA-1 keys only).
import { createHmac, randomBytes } from 'node:crypto';
import { randomId } from '../random-id.js';
import {
  constantTimeEqual, decodeBase64Strict, digest, HASH_INFO, hmac, MAX_ITERATIONS, SCRAM_HASHES,
  type ScramHash, type ScramKeys,
} from './credentials.js';
import { SaslError } from './errors.js';
import { keysKnown } from '../state/accounts.js';
import { BaseMechanism, authzidAllowed, decodeUtf8, failure, prepareAuthcid, unknownIterations, negotiationFailure } from './common.js';
import type { ChannelBindingType, SaslContext, SaslStep } from './mechanism.js';

/** The <text/> of the failure for an account without keys for the hash asked for: what to use instead. */
export function keysUnknownText(hash: ScramHash): string {
  const other = hash === 'SHA-256' ? 'SHA-1' : 'SHA-256';
  return `This account has no SCRAM-${hash} keys yet (it was imported): log in with SCRAM-${other} or PLAIN (once with PLAIN adds them)`;
}

/**
 * XEP-0474 §4.1: the mechanisms offered, sorted by octet ("i;octet", RFC 4790 §9.3) and joined by
 * %x1E; if XEP-0440 named channel-binding types, %x1F and those, sorted and joined the same way.
 */
export function ssdpInput(mechanisms: readonly string[], channelBindings: readonly string[] | undefined): string {
  const sorted = (names: readonly string[]): string => [...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))).join('\x1e');
  return channelBindings === undefined ? sorted(mechanisms) : `${sorted(mechanisms)}\x1f${sorted(channelBindings)}`;
}

/** Per-process secret behind the fake salts of unknown accounts. */
const PROCESS_SECRET = randomBytes(32);
const SERVER_NONCE_BYTES = 24;
const FAKE_SALT_BYTES = 16;

/** printable = %x21-2B / %x2D-7E (RFC 5802 §7): visible ASCII except ','. */
const PRINTABLE = /^[\x21-\x2B\x2D-\x7E]+$/;
/** saslname = 1*(value-safe-char / "=2C" / "=3D"); value-safe-char excludes NUL, ',' and '='. */
const SASLNAME = /^(?:[^=,\0]|=2C|=3D)+$/u;
/** attr-val for extensions: ALPHA "=" value, value = 1*(UTF-8 except NUL and ','). */
const EXTENSION = /^([A-Za-z])=([^,\0]+)$/su;
/** Attributes defined by RFC 5802 cannot reappear as extensions; 'm' is reserved and MUST fail. */
const RESERVED_ATTRS = new Set(['a', 'n', 'm', 'r', 'c', 's', 'i', 'p', 'v', 'e']);

function decodeSaslname(s: string): string | undefined {
  if (!SASLNAME.test(s)) return undefined;
  return s.replace(/=2C|=3D/g, (m) => (m === '=2C' ? ',' : '='));
}

function extensionsOk(attrs: string[]): boolean {
  return attrs.every((a) => {
    const m = EXTENSION.exec(a);
    return m !== null && !RESERVED_ATTRS.has(m[1]!.toLowerCase());
  });
}

function fakeBytes(label: string, hash: ScramHash, username: string, length: number): Buffer {
  return createHmac('sha256', PROCESS_SECRET).update(`${label}\0${hash}\0${username}`).digest().subarray(0, length);
}

/** Binary forms of the keys in use for this exchange. */
interface ActiveKeys { salt: Buffer; iterations: number; storedKey: Buffer; serverKey: Buffer }

function activeKeys(keys: ScramKeys, hash: ScramHash): ActiveKeys | undefined {
  const salt = decodeBase64Strict(keys.salt);
  const storedKey = decodeBase64Strict(keys.storedKey);
  const serverKey = decodeBase64Strict(keys.serverKey);
  const { length } = HASH_INFO[hash];
  if (!salt || salt.length === 0 || storedKey?.length !== length || serverKey?.length !== length) return undefined;
  if (!Number.isSafeInteger(keys.iterations) || keys.iterations < 1 || keys.iterations > MAX_ITERATIONS) return undefined;
  return { salt, iterations: keys.iterations, storedKey, serverKey };
}

type State =
  | { phase: 'initial'; sentEmptyChallenge: boolean }
  | { phase: 'final'; gs2Header: string; cbData: Buffer; clientFirstBare: string; serverFirst: string; nonce: string; keys: ActiveKeys; known: boolean };

export class ScramMechanism extends BaseMechanism {
  readonly name: string;
  private state: State = { phase: 'initial', sentEmptyChallenge: false };

  constructor(private readonly hash: ScramHash, private readonly ctx: SaslContext, private readonly plus = false) {
    super();
    this.name = `SCRAM-${hash}${plus ? '-PLUS' : ''}`;
  }

  protected async advance(response: Buffer): Promise<SaslStep> {
    const state = this.state;
    if (state.phase === 'initial') {
      if (response.length === 0) {
        if (state.sentEmptyChallenge) return failure('malformed-request', 'Empty client-first-message');
        state.sentEmptyChallenge = true;
        return { kind: 'challenge', data: Buffer.alloc(0) };
      }
      return this.clientFirst(response);
    }
    return this.clientFinal(response, state);
  }

  private async clientFirst(response: Buffer): Promise<SaslStep> {
    const text = decodeUtf8(response);
    if (text === undefined) return failure('malformed-request', 'Invalid UTF-8');
    const parts = text.split(',');
    const [flag, authzAttr, userAttr, nonceAttr, ...extensions] = parts;

    // gs2-header
    if (flag === undefined || authzAttr === undefined) return failure('malformed-request', 'Invalid GS2 header');
    let cbData: Buffer = Buffer.alloc(0);
    if (flag.startsWith('p=')) {
      if (!this.plus) return negotiationFailure('malformed-request', 'Channel binding is not supported');
      const bound = this.ctx.channelBinding?.(flag.slice(2) as ChannelBindingType);
      if (!bound) return negotiationFailure('malformed-request', 'Unsupported channel-binding type');
      cbData = bound;
    } else if (this.plus) {
      return negotiationFailure('malformed-request', 'A -PLUS mechanism needs channel binding');
    } else if (flag === 'y' && this.ctx.channelBindingOffered) {
      // RFC 5802 §6: the client could bind and believes we cannot, yet we offered it: a downgrade.
      return negotiationFailure('not-authorized', 'Channel binding was offered');
    } else if (flag !== 'n' && flag !== 'y') {
      return failure('malformed-request', 'Invalid GS2 header');
    }
    let authzid = '';
    if (authzAttr !== '') {
      const decoded = authzAttr.startsWith('a=') ? decodeSaslname(authzAttr.slice(2)) : undefined;
      if (decoded === undefined) return failure('malformed-request', 'Invalid GS2 header');
      authzid = decoded;
    }
    const gs2Header = `${flag},${authzAttr},`;

    // client-first-message-bare
    if (userAttr?.startsWith('m=')) return failure('malformed-request', 'Unsupported mandatory extension');
    const authcid = userAttr?.startsWith('n=') ? decodeSaslname(userAttr.slice(2)) : undefined;
    if (authcid === undefined) return failure('malformed-request', 'Invalid username attribute');
    const clientNonce = nonceAttr?.startsWith('r=') ? nonceAttr.slice(2) : undefined;
    if (clientNonce === undefined || !PRINTABLE.test(clientNonce)) return failure('malformed-request', 'Invalid nonce attribute');
    if (!extensionsOk(extensions)) return failure('malformed-request', 'Invalid extension');

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
    const given = credentials?.[this.hash] as ScramKeys | undefined;
    // Keys with no iterations are unknown (an import that had the other hash only).
    const stored = keysKnown(given) ? given : undefined;
    if (credentials && !stored && SCRAM_HASHES.some((hash) => keysKnown(credentials[hash]))) {
      return { kind: 'failure', error: new SaslError('not-authorized', keysUnknownText(this.hash)), username, passwordUnchecked: true };
    }
    let keys: ActiveKeys;
    let known: boolean;
    if (stored) {
      const active = activeKeys(stored, this.hash);
      if (!active) return failure('temporary-auth-failure', undefined, username);
      keys = active;
      known = true;
    } else {
      const { length } = HASH_INFO[this.hash];
      keys = {
        salt: fakeBytes('salt', this.hash, username, FAKE_SALT_BYTES),
        iterations: unknownIterations(this.ctx),
        storedKey: fakeBytes('stored-key', this.hash, username, length),
        serverKey: fakeBytes('server-key', this.hash, username, length),
      };
      known = false;
    }

    // From the pooled CSPRNG buffer (one randomFillSync per many logins).
    const serverPart = this.ctx.serverNonce ? this.ctx.serverNonce() : randomId(SERVER_NONCE_BYTES, 'base64');
    if (!PRINTABLE.test(serverPart)) throw new Error('server nonce must be printable ASCII without ","');
    const nonce = clientNonce + serverPart;
    const offered = this.ctx.downgradeProtection;
    const ssdp = offered === undefined ? '' : `,h=${digest(this.hash, Buffer.from(ssdpInput(offered.mechanisms, offered.channelBindings), 'utf8')).toString('base64')}`;
    const serverFirst = `r=${nonce},s=${keys.salt.toString('base64')},i=${keys.iterations}${ssdp}`;
    this.state = { phase: 'final', gs2Header, cbData, clientFirstBare: parts.slice(2).join(','), serverFirst, nonce, keys, known };
    return { kind: 'challenge', data: Buffer.from(serverFirst, 'utf8') };
  }

  private async clientFinal(response: Buffer, state: Extract<State, { phase: 'final' }>): Promise<SaslStep> {
    const username = this.username;
    const text = decodeUtf8(response);
    if (text === undefined) return failure('malformed-request', 'Invalid UTF-8', username);
    const parts = text.split(',');
    if (parts.length < 3) return failure('malformed-request', 'Missing attributes', username);
    const [cbAttr, nonceAttr] = parts as [string, string];
    const proofAttr = parts[parts.length - 1]!;
    const extensions = parts.slice(2, -1);

    const cbind = cbAttr.startsWith('c=') ? decodeBase64Strict(cbAttr.slice(2)) : undefined;
    if (cbind === undefined) return failure('malformed-request', 'Invalid channel-binding attribute', username);
    if (!nonceAttr.startsWith('r=')) return failure('malformed-request', 'Invalid nonce attribute', username);
    if (!extensionsOk(extensions)) return failure('malformed-request', 'Invalid extension', username);
    const proof = proofAttr.startsWith('p=') ? decodeBase64Strict(proofAttr.slice(2)) : undefined;
    if (proof === undefined || proof.length !== HASH_INFO[this.hash].length) {
      return failure('malformed-request', 'Invalid proof attribute', username);
    }
    const header = Buffer.from(state.gs2Header, 'utf8');
    if (!cbind.subarray(0, header.length).equals(header)) return failure('malformed-request', 'Channel binding mismatch', username);
    // Other binding data is what a man in the middle causes: the client is on another TLS channel.
    if (!cbind.subarray(header.length).equals(state.cbData)) return failure('not-authorized', 'Channel binding mismatch', username);
    if (nonceAttr.slice(2) !== state.nonce) return failure('malformed-request', 'Nonce mismatch', username);

    const authMessage = `${state.clientFirstBare},${state.serverFirst},${parts.slice(0, -1).join(',')}`;
    const { storedKey, serverKey } = state.keys;
    const clientSignature = hmac(this.hash, storedKey, authMessage);
    const clientKey = Buffer.alloc(proof.length);
    for (let i = 0; i < proof.length; i++) clientKey[i] = proof[i]! ^ clientSignature[i]!;
    const matches = constantTimeEqual(digest(this.hash, clientKey), storedKey);
    if (!matches || !state.known || username === undefined) return failure('not-authorized', undefined, username);

    const serverSignature = hmac(this.hash, serverKey, authMessage);
    return { kind: 'success', username, data: Buffer.from(`v=${serverSignature.toString('base64')}`, 'utf8') };
  }
}
