import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deriveCredentials, deriveScramKeys, type ScramHash, type StoredCredentials } from '../../src/sasl/credentials.js';
import { createMechanism, keysUnknownText, MECHANISMS, type SaslContext, type SaslServerMechanism, type SaslStep } from '../../src/sasl/index.js';

const DOMAIN = 'example.com';

/** A stand-in for the RFC 7622 localpart profile: rejects JID-special characters and spaces. */
function prepUsername(s: string): string {
  if (/[\s"&'/:<>@]/u.test(s) || s.length === 0) throw new Error('invalid localpart');
  return s;
}

function context(accounts: Record<string, StoredCredentials>, extra: Partial<SaslContext> = {}): SaslContext & { lookups: string[] } {
  const lookups: string[] = [];
  return {
    domain: DOMAIN,
    prepUsername,
    lookups,
    async lookup(username) {
      lookups.push(username);
      return accounts[username];
    },
    ...extra,
  };
}

function mech(name: string, ctx: SaslContext): SaslServerMechanism {
  const m = createMechanism(name, ctx);
  if (!m) throw new Error(`no mechanism ${name}`);
  return m;
}

const b = (s: string): Buffer => Buffer.from(s, 'utf8');

function expectChallenge(step: SaslStep): string {
  expect(step.kind).toBe('challenge');
  return step.kind === 'challenge' ? step.data.toString('utf8') : '';
}

function expectFailure(step: SaslStep, condition: string): void {
  expect(step.kind).toBe('failure');
  if (step.kind === 'failure') expect(step.error.condition).toBe(condition);
}

/** A SCRAM client written from RFC 5802 §3 directly, independent of the server code. */
class ScramClient {
  private clientFirstBare = '';
  private authMessage = '';
  private saltedPassword = Buffer.alloc(0);
  private readonly digest: string;

  constructor(
    readonly hash: ScramHash,
    readonly username: string,
    readonly password: string,
    readonly gs2Header = 'n,,',
    readonly nonce = randomBytes(18).toString('base64'),
  ) {
    this.digest = hash === 'SHA-1' ? 'sha1' : 'sha256';
  }

  first(): string {
    const name = this.username.replace(/=/g, '=3D').replace(/,/g, '=2C');
    this.clientFirstBare = `n=${name},r=${this.nonce}`;
    return this.gs2Header + this.clientFirstBare;
  }

  /** extensions are inserted before the proof, and so covered by it. */
  final(serverFirst: string, extensions = ''): string {
    const attrs = Object.fromEntries(serverFirst.split(',').map((a) => [a[0], a.slice(2)]));
    const salt = Buffer.from(attrs.s!, 'base64');
    const iterations = Number(attrs.i);
    const len = this.hash === 'SHA-1' ? 20 : 32;
    this.saltedPassword = pbkdf2Sync(this.password, salt, iterations, len, this.digest);
    const withoutProof = `c=${Buffer.from(this.gs2Header).toString('base64')},r=${attrs.r}${extensions}`;
    this.authMessage = `${this.clientFirstBare},${serverFirst},${withoutProof}`;
    const clientKey = createHmac(this.digest, this.saltedPassword).update('Client Key').digest();
    const storedKey = createHash(this.digest).update(clientKey).digest();
    const signature = createHmac(this.digest, storedKey).update(this.authMessage).digest();
    const proof = Buffer.from(clientKey.map((x, i) => x ^ signature[i]!));
    return `${withoutProof},p=${proof.toString('base64')}`;
  }

  expectedServerFinal(): string {
    const serverKey = createHmac(this.digest, this.saltedPassword).update('Server Key').digest();
    return `v=${createHmac(this.digest, serverKey).update(this.authMessage).digest('base64')}`;
  }
}

async function exchange(m: SaslServerMechanism, client: ScramClient): Promise<SaslStep> {
  const first = await m.step(b(client.first()));
  if (first.kind !== 'challenge') return first;
  return m.step(b(client.final(first.data.toString('utf8'))));
}

describe('SCRAM test vectors', () => {
  it('reproduces the RFC 5802 §5 SCRAM-SHA-1 exchange byte for byte', async () => {
    const keys = await deriveScramKeys('pencil', 'SHA-1', Buffer.from('QSXCR+Q6sek8bf92', 'base64'), 4096);
    const ctx = context({ user: { 'SHA-1': keys } as unknown as StoredCredentials }, { serverNonce: () => '3rfcNHYJY1ZVvWVs7j' });
    const m = mech('SCRAM-SHA-1', ctx);
    const first = await m.step(b('n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL'));
    expect(expectChallenge(first)).toBe('r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096');
    const final = await m.step(b('c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts='));
    expect(final.kind).toBe('success');
    if (final.kind !== 'success') return;
    expect(final.username).toBe('user');
    expect(final.data?.toString('utf8')).toBe('v=rmF9pqV8S7suAoZWja4dJRkFsKQ=');
  });

  it('reproduces the RFC 7677 §3 SCRAM-SHA-256 exchange byte for byte', async () => {
    const keys = await deriveScramKeys('pencil', 'SHA-256', Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'), 4096);
    const ctx = context({ user: { 'SHA-256': keys } as unknown as StoredCredentials }, { serverNonce: () => '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0' });
    const m = mech('SCRAM-SHA-256', ctx);
    const first = await m.step(b('n,,n=user,r=rOprNGfwEbeRWgbNEkqO'));
    expect(expectChallenge(first)).toBe('r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096');
    const final = await m.step(b('c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ='));
    expect(final).toEqual({ kind: 'success', username: 'user', data: b('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=') });
  });
});

describe('SCRAM exchanges', async () => {
  const creds = await deriveCredentials('pencil');
  const accounts = { user: creds, 'we,ird=name': creds };

  for (const hash of ['SHA-1', 'SHA-256'] as const) {
    it(`authenticates a client that knows the password with SCRAM-${hash} and proves the server knows the keys`, async () => {
      const client = new ScramClient(hash, 'user', 'pencil');
      const result = await exchange(mech(`SCRAM-${hash}`, context(accounts)), client);
      expect(result.kind).toBe('success');
      if (result.kind !== 'success') return;
      expect(result.username).toBe('user');
      expect(result.data?.toString('utf8')).toBe(client.expectedServerFinal());
    });

    it(`rejects a wrong password with SCRAM-${hash} as not-authorized and reports the username`, async () => {
      const result = await exchange(mech(`SCRAM-${hash}`, context(accounts)), new ScramClient(hash, 'user', 'pencil2'));
      expectFailure(result, 'not-authorized');
      expect(result.kind === 'failure' && result.username).toBe('user');
    });
  }

  it('offers SCRAM-SHA-256, then SCRAM-SHA-1, then PLAIN', () => {
    expect(MECHANISMS).toEqual(['SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN']);
    // The -PLUS variants exist, offered only where the connection can bind (c2s/sasl-exchange.ts).
    expect(createMechanism('SCRAM-SHA-1-PLUS', context(accounts))?.name).toBe('SCRAM-SHA-1-PLUS');
    expect(createMechanism('SCRAM-SHA-1-PLUSX', context(accounts))).toBeUndefined();
    expect(createMechanism('DIGEST-MD5', context(accounts))).toBeUndefined();
    expect(MECHANISMS.map((n) => createMechanism(n, context(accounts))?.name)).toEqual([...MECHANISMS]);
  });

  it('answers an empty initial response with an empty challenge, then proceeds', async () => {
    const m = mech('SCRAM-SHA-256', context(accounts));
    const empty = await m.step(Buffer.alloc(0));
    expect(empty).toEqual({ kind: 'challenge', data: Buffer.alloc(0) });
    expect((await exchange(m, new ScramClient('SHA-256', 'user', 'pencil'))).kind).toBe('success');
  });

  it('fails a second empty message as malformed-request', async () => {
    const m = mech('SCRAM-SHA-256', context(accounts));
    await m.step(Buffer.alloc(0));
    expectFailure(await m.step(Buffer.alloc(0)), 'malformed-request');
  });

  it('decodes =2C and =3D in the username', async () => {
    const ctx = context(accounts, { prepUsername: (s) => s });
    const result = await exchange(mech('SCRAM-SHA-1', ctx), new ScramClient('SHA-1', 'we,ird=name', 'pencil'));
    expect(result.kind === 'success' && result.username).toBe('we,ird=name');
    expect(ctx.lookups).toEqual(['we,ird=name']);
  });

  it('accepts the y flag, whose channel-binding attribute must then be base64 of "y,,"', async () => {
    const result = await exchange(mech('SCRAM-SHA-256', context(accounts)), new ScramClient('SHA-256', 'user', 'pencil', 'y,,'));
    expect(result.kind).toBe('success');
  });

  it('accepts an authzid equal to the bare JID of the authcid', async () => {
    const client = new ScramClient('SHA-256', 'user', 'pencil', 'n,a=user@example.com,');
    expect((await exchange(mech('SCRAM-SHA-256', context(accounts)), client)).kind).toBe('success');
  });

  it('rejects any other authzid as invalid-authzid', async () => {
    for (const authzid of ['admin@example.com', 'user@example.org', 'user@example.com/res', 'example.com']) {
      const m = mech('SCRAM-SHA-256', context(accounts));
      const result = await m.step(b(`n,a=${authzid},n=user,r=abcdef`));
      expectFailure(result, 'invalid-authzid');
    }
  });

  it('fails every step after a success with malformed-request', async () => {
    const m = mech('SCRAM-SHA-1', context(accounts));
    expect((await exchange(m, new ScramClient('SHA-1', 'user', 'pencil'))).kind).toBe('success');
    expectFailure(await m.step(b('c=biws')), 'malformed-request');
    expectFailure(await m.step(Buffer.alloc(0)), 'malformed-request');
  });

  it('fails every step after a failure with malformed-request', async () => {
    const m = mech('SCRAM-SHA-1', context(accounts));
    expectFailure(await exchange(m, new ScramClient('SHA-1', 'user', 'nope')), 'not-authorized');
    expectFailure(await m.step(b('n,,n=user,r=abc')), 'malformed-request');
  });

  it('reports a lookup that throws as temporary-auth-failure', async () => {
    const ctx = context(accounts, { lookup: () => Promise.reject(new Error('redis down')) });
    const result = await mech('SCRAM-SHA-256', ctx).step(b('n,,n=user,r=abcdef'));
    expectFailure(result, 'temporary-auth-failure');
  });
});

describe('SCRAM for accounts that do not exist', async () => {
  const creds = await deriveCredentials('pencil');
  const accounts = { user: creds };

  function shape(serverFirst: string): string {
    return serverFirst.replace(/[A-Za-z0-9+/=]/g, 'x');
  }

  for (const hash of ['SHA-1', 'SHA-256'] as const) {
    it(`gives an unknown user a SCRAM-${hash} challenge shaped like a real one and fails only at the end`, async () => {
      const nonce = 'abcdefghijklmnopqrstuvwx';
      const real = expectChallenge(await mech(`SCRAM-${hash}`, context(accounts)).step(b(`n,,n=user,r=${nonce}`)));
      const m = mech(`SCRAM-${hash}`, context(accounts));
      const fake = expectChallenge(await m.step(b(`n,,n=nobody,r=${nonce}`)));
      expect(shape(fake)).toBe(shape(real));
      expect(fake).toMatch(/^r=abcdefghijklmnopqrstuvwx[A-Za-z0-9+/]{32},s=[A-Za-z0-9+/]{22}==,i=4096$/);
      const client = new ScramClient(hash, 'nobody', 'pencil', 'n,,', nonce);
      expect(client.first()).toBe(`n,,n=nobody,r=${nonce}`);
      const final = await m.step(b(client.final(fake)));
      const wrong = await exchange(mech(`SCRAM-${hash}`, context(accounts)), new ScramClient(hash, 'user', 'wrong'));
      expect(final).toEqual({ ...wrong, username: 'nobody' });
      expectFailure(final, 'not-authorized');
    });
  }

  it('answers SCRAM-SHA-256 for an account with SHA-1 keys only with not-authorized and a hint, not counted as a guess', async () => {
    const imported = { 'SHA-1': accounts.user['SHA-1'], 'SHA-256': { salt: '', iterations: 0, storedKey: '', serverKey: '' } };
    const step = await mech('SCRAM-SHA-256', context({ user: imported })).step(b('n,,n=user,r=abc'));
    expect(step).toEqual({ kind: 'failure', error: expect.objectContaining({ condition: 'not-authorized', text: keysUnknownText('SHA-256') }), username: 'user', passwordUnchecked: true });
    expect(keysUnknownText('SHA-256')).toMatch(/log in with SCRAM-SHA-1 or PLAIN/);
    // The SHA-1 keys still work.
    const ok = await exchange(mech('SCRAM-SHA-1', context({ user: imported })), new ScramClient('SHA-1', 'user', 'pencil'));
    expect(ok.kind).toBe('success');
  });

  it('answers SCRAM-SHA-1 for an account with SHA-256 keys only with a hint naming SCRAM-SHA-256', async () => {
    const imported = { 'SHA-1': { salt: '', iterations: 0, storedKey: '', serverKey: '' }, 'SHA-256': accounts.user['SHA-256'] };
    const step = await mech('SCRAM-SHA-1', context({ user: imported })).step(b('n,,n=user,r=abc'));
    expectFailure(step, 'not-authorized');
    expect(step.kind === 'failure' && step.error.text).toMatch(/log in with SCRAM-SHA-256 or PLAIN/);
  });

  it('keeps the fake salt stable per username and different between usernames', async () => {
    const salt = async (name: string): Promise<string | undefined> =>
      /,s=([^,]+),/.exec(expectChallenge(await mech('SCRAM-SHA-256', context(accounts)).step(b(`n,,n=${name},r=abc`))))?.[1];
    const [a1, a2, c] = [await salt('alice'), await salt('alice'), await salt('carol')];
    expect(a1).toBe(a2);
    expect(a1).not.toBe(c);
  });

  it('advertises the configured iteration count for unknown users', async () => {
    const ctx = context(accounts, { unknownUserIterations: 10000 });
    expect(expectChallenge(await mech('SCRAM-SHA-1', ctx).step(b('n,,n=ghost,r=abc')))).toMatch(/,i=10000$/);
  });
});

describe('SCRAM malformed client-first-message', async () => {
  const accounts = { user: await deriveCredentials('pencil') };
  const cases: [string, string | Buffer, string][] = [
    ['an unknown gs2 flag', 'x,,n=user,r=abc', 'malformed-request'],
    ['a channel binding request (p=)', 'p=tls-unique,,n=user,r=abc', 'malformed-request'],
    ['a channel binding request with tls-exporter', 'p=tls-exporter,,n=user,r=abc', 'malformed-request'],
    ['a missing authzid field', 'n,n=user,r=abc', 'malformed-request'],
    ['an empty authzid attribute', 'n,a=,n=user,r=abc', 'malformed-request'],
    ['a bare username without gs2 header', 'n=user,r=abc', 'malformed-request'],
    ['an unknown =XX escape in the username', 'n,,n=us=41er,r=abc', 'malformed-request'],
    ['a lowercase escape in the username', 'n,,n=us=2cer,r=abc', 'malformed-request'],
    ['a trailing = in the username', 'n,,n=user=,r=abc', 'malformed-request'],
    ['an empty username', 'n,,n=,r=abc', 'malformed-request'],
    ['a missing username', 'n,,r=abc', 'malformed-request'],
    ['a missing nonce', 'n,,n=user', 'malformed-request'],
    ['an empty nonce', 'n,,n=user,r=', 'malformed-request'],
    ['a nonce with a space', 'n,,n=user,r=ab cd', 'malformed-request'],
    ['a nonce with non-ASCII', 'n,,n=user,r=abcé', 'malformed-request'],
    ['the reserved m= extension before the username', 'n,,m=ext,n=user,r=abc', 'malformed-request'],
    ['the reserved m= attribute after the nonce', 'n,,n=user,r=abc,m=ext', 'malformed-request'],
    ['an empty trailing attribute', 'n,,n=user,r=abc,', 'malformed-request'],
    ['a NUL in the username', 'n,,n=us\0er,r=abc', 'malformed-request'],
    ['invalid UTF-8', Buffer.from([0x6e, 0x2c, 0x2c, 0x6e, 0x3d, 0xc3, 0x28, 0x2c, 0x72, 0x3d, 0x61]), 'malformed-request'],
    ['a username that the localpart profile rejects', 'n,,n=us@er,r=abc', 'not-authorized'],
    ['a username that SASLprep rejects', 'n,,n=us\u0007er,r=abc', 'not-authorized'],
  ];
  for (const [what, message, condition] of cases) {
    it(`fails ${what} with ${condition}`, async () => {
      const m = mech('SCRAM-SHA-256', context(accounts));
      expectFailure(await m.step(typeof message === 'string' ? b(message) : message), condition);
    });
  }

  it('explains a p= request as unsupported channel binding rather than a syntax error', async () => {
    const step = await mech('SCRAM-SHA-1', context(accounts)).step(b('p=tls-exporter,,n=user,r=abc'));
    expect(step.kind === 'failure' && step.error.text).toBe('Channel binding is not supported');
  });

  it('ignores an unknown optional extension after the nonce', async () => {
    expect(expectChallenge(await mech('SCRAM-SHA-256', context(accounts)).step(b('n,,n=user,r=abc,x=whatever')))).toMatch(/^r=abc/);
  });
});

describe('SCRAM malformed client-final-message', async () => {
  const accounts = { user: await deriveCredentials('pencil') };

  async function started(gs2 = 'n,,'): Promise<{ m: SaslServerMechanism; good: string }> {
    const m = mech('SCRAM-SHA-256', context(accounts));
    const client = new ScramClient('SHA-256', 'user', 'pencil', gs2);
    const serverFirst = expectChallenge(await m.step(b(client.first())));
    return { m, good: client.final(serverFirst) };
  }
  const attr = (msg: string, name: string): string => msg.split(',').find((a) => a.startsWith(`${name}=`))!;

  const cases: [string, (good: string) => string, string][] = [
    ['a nonce mismatch', (g) => g.replace(/,r=([^,]+)/, ',r=$1x'), 'malformed-request'],
    ['a nonce without the server part', (g) => g.replace(/,r=([^,]+)/, (_, r: string) => `,r=${r.slice(0, 24)}`), 'malformed-request'],
    ['a channel-binding mismatch (y,, instead of n,,)', (g) => g.replace('c=biws', 'c=eSws'), 'malformed-request'],
    ['a channel-binding attribute that is not base64', (g) => g.replace('c=biws', 'c=bi*s'), 'malformed-request'],
    ['a missing channel-binding attribute', (g) => g.replace('c=biws,', ''), 'malformed-request'],
    ['a missing proof', (g) => g.replace(/,p=.*$/, ''), 'malformed-request'],
    ['a missing nonce', (g) => g.replace(/,r=[^,]+/, ''), 'malformed-request'],
    ['a proof that is not base64', (g) => g.replace(/p=.*$/, 'p=!!!!'), 'malformed-request'],
    ['a proof of the wrong length', (g) => g.replace(/p=.*$/, 'p=AAAA'), 'malformed-request'],
    ['attributes out of order', (g) => [attr(g, 'r'), attr(g, 'c'), attr(g, 'p')].join(','), 'malformed-request'],
    ['the reserved m= extension', (g) => g.replace(',p=', ',m=x,p='), 'malformed-request'],
    ['a flipped proof bit', (g) => g.replace(/p=(.)/, (_, c: string) => `p=${c === 'A' ? 'B' : 'A'}`), 'not-authorized'],
  ];
  for (const [what, mutate, condition] of cases) {
    it(`fails ${what} with ${condition}`, async () => {
      const { m, good } = await started();
      expectFailure(await m.step(b(mutate(good))), condition);
    });
  }

  it('fails a client that sent y,, but claims n,, in the channel-binding attribute', async () => {
    const { m, good } = await started('y,,');
    expectFailure(await m.step(b(good.replace('c=eSws', 'c=biws'))), 'malformed-request');
  });

  it('accepts an unknown optional extension before the proof', async () => {
    const m = mech('SCRAM-SHA-256', context(accounts));
    const client = new ScramClient('SHA-256', 'user', 'pencil');
    const serverFirst = expectChallenge(await m.step(b(client.first())));
    // The extension is part of client-final-message-without-proof, so the proof covers it.
    const final = client.final(serverFirst, ',x=optional');
    expect(final).toMatch(/^c=biws,r=[^,]+,x=optional,p=/);
    expect((await m.step(b(final))).kind).toBe('success');
  });
});

describe('SCRAM SASLprep', async () => {
  it('derives the same keys for a password with a soft hyphen as without it', async () => {
    const accounts = { user: await deriveCredentials('I\u00ADX') };
    const result = await exchange(mech('SCRAM-SHA-256', context(accounts)), new ScramClient('SHA-256', 'user', 'IX'));
    expect(result.kind).toBe('success');
  });

  it('prepares the username with SASLprep before the localpart profile', async () => {
    const ctx = context({ IX: await deriveCredentials('pencil') });
    const result = await exchange(mech('SCRAM-SHA-1', ctx), new ScramClient('SHA-1', 'I\u00ADX', 'pencil'));
    expect(result.kind === 'success' && result.username).toBe('IX');
    expect(ctx.lookups).toEqual(['IX']);
  });

  it('maps U+2168 ROMAN NUMERAL NINE in a username to IX', async () => {
    const ctx = context({});
    await mech('SCRAM-SHA-1', ctx).step(b('n,,n=\u2168,r=abc'));
    expect(ctx.lookups).toEqual(['IX']);
  });
});

describe('SCRAM robustness', async () => {
  const accounts = { user: await deriveCredentials('pencil', 16) };

  it('never throws on random input and answers every step with a challenge, success or failure', async () => {
    const prefix = fc.constantFrom('', 'n,,', 'y,,', 'n,,n=user,r=', 'c=biws,r=', 'p=x,,');
    const message = fc.oneof(
      fc.uint8Array({ maxLength: 200 }).map((u) => Buffer.from(u)),
      fc.tuple(prefix, fc.string({ unit: 'binary', maxLength: 60 })).map(([p, s]) => b(p + s)),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...MECHANISMS), fc.array(message, { minLength: 1, maxLength: 3 }), async (name, messages) => {
        const m = mech(name, context(accounts, { unknownUserIterations: 16 }));
        for (const msg of messages) {
          const step = await m.step(msg);
          expect(['challenge', 'failure', 'success']).toContain(step.kind);
          if (step.kind === 'failure') expect(step.error.condition).toMatch(/^[a-z-]+$/);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws after a valid client-first-message whatever the client-final bytes are', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), async (bytes) => {
        const m = mech('SCRAM-SHA-256', context(accounts));
        expectChallenge(await m.step(b('n,,n=user,r=abc')));
        const step = await m.step(Buffer.from(bytes));
        expect(step.kind).toBe('failure');
        expect(['malformed-request', 'not-authorized']).toContain(step.kind === 'failure' ? step.error.condition : '');
      }),
      { numRuns: 2000 },
    );
  });
});
