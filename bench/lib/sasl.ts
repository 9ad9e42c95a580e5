// Client side of SASL PLAIN and SCRAM-SHA-1 (RFC 5802, no channel binding). The salted password
// and the keys derived from it are cached per (password, salt, iterations), so that after the first
// login of an account the client spends two HMACs per login, not a PBKDF2.
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

export type Mechanism = 'PLAIN' | 'SCRAM-SHA-1';

interface DerivedKeys {
  clientKey: Buffer;
  storedKey: Buffer;
  serverKey: Buffer;
}

const keyCache = new Map<string, DerivedKeys>();
let derivations = 0;

/** How many PBKDF2 derivations this process ran (cache misses). */
export function scramDerivations(): number {
  return derivations;
}

function derive(password: string, salt: Buffer, iterations: number): DerivedKeys {
  const key = `${iterations}\0${salt.toString('base64')}\0${password}`;
  let keys = keyCache.get(key);
  if (!keys) {
    derivations++;
    const salted = pbkdf2Sync(password, salt, iterations, 20, 'sha1');
    const clientKey = createHmac('sha1', salted).update('Client Key').digest();
    keys = {
      clientKey,
      storedKey: createHash('sha1').update(clientKey).digest(),
      serverKey: createHmac('sha1', salted).update('Server Key').digest(),
    };
    keyCache.set(key, keys);
  }
  return keys;
}

export function plainInitial(user: string, password: string): string {
  return Buffer.from(`\0${user}\0${password}`, 'utf8').toString('base64');
}

function saslname(user: string): string {
  return user.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

/** One SCRAM-SHA-1 exchange. */
export class ScramClient {
  private readonly nonce = randomBytes(18).toString('base64');
  private readonly bare: string;
  private expectedSignature: string | undefined;

  constructor(
    user: string,
    private readonly password: string,
  ) {
    this.bare = `n=${saslname(user)},r=${this.nonce}`;
  }

  /** base64 of client-first-message. */
  initial(): string {
    return Buffer.from(`n,,${this.bare}`).toString('base64');
  }

  /** base64 of client-final-message for the server's challenge (base64 of server-first-message). */
  response(challenge: string): string {
    const serverFirst = Buffer.from(challenge, 'base64').toString('utf8');
    let nonce = '';
    let salt = '';
    let iterations = 0;
    for (const part of serverFirst.split(',')) {
      const value = part.slice(2);
      if (part.startsWith('r=')) nonce = value;
      else if (part.startsWith('s=')) salt = value;
      else if (part.startsWith('i=')) iterations = Number(value);
    }
    if (!nonce.startsWith(this.nonce) || salt === '' || !(iterations > 0)) throw new Error(`bad SCRAM challenge: ${serverFirst}`);
    const keys = derive(this.password, Buffer.from(salt, 'base64'), iterations);
    const finalBare = `c=biws,r=${nonce}`;
    const authMessage = `${this.bare},${serverFirst},${finalBare}`;
    const signature = createHmac('sha1', keys.storedKey).update(authMessage).digest();
    const proof = Buffer.allocUnsafe(signature.length);
    for (let i = 0; i < signature.length; i++) proof[i] = keys.clientKey[i]! ^ signature[i]!;
    this.expectedSignature = createHmac('sha1', keys.serverKey).update(authMessage).digest('base64');
    return Buffer.from(`${finalBare},p=${proof.toString('base64')}`).toString('base64');
  }

  /** Checks server-final-message (base64, from <success/>). */
  verify(success: string): boolean {
    const text = Buffer.from(success, 'base64').toString('utf8');
    return this.expectedSignature !== undefined && text === `v=${this.expectedSignature}`;
  }
}

/** SCRAM-SHA-1 server credentials (RFC 5802 §3), for writing accounts straight into a server's store. */
export function scramSha1Credentials(password: string, salt: Buffer, iterations: number): { storedKey: Buffer; serverKey: Buffer } {
  const keys = derive(password, salt, iterations);
  return { storedKey: keys.storedKey, serverKey: keys.serverKey };
}
