import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deriveCredentials, type StoredCredentials } from '../../src/sasl/credentials.js';
import { createMechanism, type SaslContext, type SaslServerMechanism, type SaslStep } from '../../src/sasl/index.js';

/** A stand-in for the RFC 7622 localpart profile: rejects JID-special characters and spaces, folds case. */
function prepUsername(s: string): string {
  if (/[\s"&'/:<>@]/u.test(s) || s.length === 0) throw new Error('invalid localpart');
  return s.toLowerCase();
}

function context(accounts: Record<string, StoredCredentials>, extra: Partial<SaslContext> = {}): SaslContext & { lookups: string[] } {
  const lookups: string[] = [];
  return {
    domain: 'example.com',
    prepUsername,
    lookups,
    async lookup(username) {
      lookups.push(username);
      return accounts[username];
    },
    ...extra,
  };
}

function plain(ctx: SaslContext): SaslServerMechanism {
  const m = createMechanism('PLAIN', ctx);
  if (!m) throw new Error('PLAIN missing');
  return m;
}

const msg = (authzid: string, authcid: string, password: string): Buffer => Buffer.from(`${authzid}\0${authcid}\0${password}`, 'utf8');

function expectFailure(step: SaslStep, condition: string): void {
  expect(step.kind).toBe('failure');
  if (step.kind === 'failure') expect(step.error.condition).toBe(condition);
}

describe('PLAIN', async () => {
  const accounts = { juliet: await deriveCredentials('r0m30 & more'), 'i\u00e9x': await deriveCredentials('IX') };

  it('authenticates the right password and reports the prepared username', async () => {
    const ctx = context(accounts);
    expect(await plain(ctx).step(msg('', 'Juliet', 'r0m30 & more'))).toEqual({ kind: 'success', username: 'juliet' });
    expect(ctx.lookups).toEqual(['juliet']);
  });

  it('is named PLAIN', () => {
    expect(plain(context(accounts)).name).toBe('PLAIN');
  });

  it('rejects a wrong password as not-authorized with the username for throttling', async () => {
    const step = await plain(context(accounts)).step(msg('', 'juliet', 'r0m30 & less'));
    expectFailure(step, 'not-authorized');
    expect(step.kind === 'failure' && step.username).toBe('juliet');
  });

  it('rejects an unknown user exactly like a wrong password', async () => {
    const ctx = context(accounts);
    const unknown = await plain(ctx).step(msg('', 'romeo', 'r0m30 & more'));
    const wrong = await plain(ctx).step(msg('', 'juliet', 'nope'));
    expect(unknown).toEqual({ ...wrong, username: 'romeo' });
    expect(ctx.lookups).toEqual(['romeo', 'juliet']);
  });

  it('spends comparable time on unknown users as on real ones', async () => {
    const iterations = 100_000;
    const ctx = context({ juliet: await deriveCredentials('pencil', iterations) }, { unknownUserIterations: iterations });
    const time = async (user: string): Promise<number> => {
      const start = performance.now();
      await plain(ctx).step(msg('', user, 'wrong'));
      return performance.now() - start;
    };
    await time('juliet');
    const known = await time('juliet');
    const unknown = await time('romeo');
    expect(unknown).toBeGreaterThan(known * 0.3);
  });

  it('answers an empty initial response with an empty challenge, then authenticates', async () => {
    const m = plain(context(accounts));
    expect(await m.step(Buffer.alloc(0))).toEqual({ kind: 'challenge', data: Buffer.alloc(0) });
    expect((await m.step(msg('', 'juliet', 'r0m30 & more'))).kind).toBe('success');
  });

  it('fails a second empty message as malformed-request', async () => {
    const m = plain(context(accounts));
    await m.step(Buffer.alloc(0));
    expectFailure(await m.step(Buffer.alloc(0)), 'malformed-request');
  });

  it('fails any step after the outcome with malformed-request', async () => {
    const m = plain(context(accounts));
    expect((await m.step(msg('', 'juliet', 'r0m30 & more'))).kind).toBe('success');
    expectFailure(await m.step(msg('', 'juliet', 'r0m30 & more')), 'malformed-request');
  });

  it('falls back to the SHA-1 keys when an account has no SHA-256 keys', async () => {
    const sha1Only = { 'SHA-1': accounts.juliet['SHA-1'] } as unknown as StoredCredentials;
    expect((await plain(context({ juliet: sha1Only })).step(msg('', 'juliet', 'r0m30 & more'))).kind).toBe('success');
    expectFailure(await plain(context({ juliet: sha1Only })).step(msg('', 'juliet', 'wrong')), 'not-authorized');
  });

  describe('keys completed at login (accounts imported with SCRAM-SHA-1 keys only)', () => {
    const unknownKeys = { salt: '', iterations: 0, storedKey: '', serverKey: '' };
    const imported = (): StoredCredentials => ({ 'SHA-1': accounts.juliet['SHA-1'], 'SHA-256': unknownKeys });
    function recorder(answer: boolean | Error = true) {
      const calls: Array<{ username: string; expected: StoredCredentials; credentials: StoredCredentials }> = [];
      const replaceCredentials = async (username: string, expected: StoredCredentials, credentials: StoredCredentials): Promise<boolean> => {
        calls.push({ username, expected, credentials });
        if (answer instanceof Error) throw answer;
        return answer;
      };
      return { calls, replaceCredentials };
    }

    it('derives the missing SHA-256 keys with the configured iterations and stores them against what it read', async () => {
      const { calls, replaceCredentials } = recorder();
      const ctx = context({ juliet: imported() }, { replaceCredentials, unknownUserIterations: 32 });
      expect(await plain(ctx).step(msg('', 'juliet', 'r0m30 & more'))).toEqual({ kind: 'success', username: 'juliet' });
      expect(calls).toHaveLength(1);
      const [call] = calls;
      expect(call?.username).toBe('juliet');
      expect(call?.expected).toStrictEqual(imported());
      expect(call?.credentials['SHA-1']).toStrictEqual(accounts.juliet['SHA-1']);
      expect(call?.credentials['SHA-256'].iterations).toBe(32);
      // The stored keys are good for the password: PLAIN accepts it against them alone.
      const upgraded = call?.credentials ?? imported();
      expect((await plain(context({ juliet: upgraded })).step(msg('', 'juliet', 'r0m30 & more'))).kind).toBe('success');
      expectFailure(await plain(context({ juliet: upgraded })).step(msg('', 'juliet', 'wrong')), 'not-authorized');
    });

    it('stores nothing when the password is wrong', async () => {
      const { calls, replaceCredentials } = recorder();
      expectFailure(await plain(context({ juliet: imported() }, { replaceCredentials })).step(msg('', 'juliet', 'wrong')), 'not-authorized');
      expect(calls).toHaveLength(0);
    });

    it('stores nothing when every key is known', async () => {
      const { calls, replaceCredentials } = recorder();
      expect((await plain(context(accounts, { replaceCredentials })).step(msg('', 'juliet', 'r0m30 & more'))).kind).toBe('success');
      expect(calls).toHaveLength(0);
    });

    it('logs the user in even when storing the keys fails or loses a race', async () => {
      for (const answer of [false, new Error('redis down')]) {
        const { calls, replaceCredentials } = recorder(answer);
        expect((await plain(context({ juliet: imported() }, { replaceCredentials })).step(msg('', 'juliet', 'r0m30 & more'))).kind).toBe('success');
        expect(calls).toHaveLength(1);
      }
    });
  });

  it('reports a lookup that throws as temporary-auth-failure', async () => {
    const ctx = context(accounts, { lookup: () => Promise.reject(new Error('redis down')) });
    expectFailure(await plain(ctx).step(msg('', 'juliet', 'x')), 'temporary-auth-failure');
  });

  describe('authzid', () => {
    it('accepts an authzid equal to the bare JID', async () => {
      expect((await plain(context(accounts)).step(msg('juliet@example.com', 'juliet', 'r0m30 & more'))).kind).toBe('success');
    });

    it('accepts an authzid whose localpart and domain prepare to the bare JID', async () => {
      expect((await plain(context(accounts)).step(msg('Juliet@Example.COM', 'juliet', 'r0m30 & more'))).kind).toBe('success');
    });

    for (const authzid of ['romeo@example.com', 'juliet@example.org', 'juliet@example.com/balcony', 'example.com', 'juliet', '@example.com']) {
      it(`rejects the authzid ${JSON.stringify(authzid)} as invalid-authzid`, async () => {
        const step = await plain(context(accounts)).step(msg(authzid, 'juliet', 'r0m30 & more'));
        expectFailure(step, 'invalid-authzid');
        expect(step.kind === 'failure' && step.username).toBe('juliet');
      });
    }
  });

  describe('SASLprep', () => {
    it('treats a password with a soft hyphen as the same password without it', async () => {
      const ctx = context({ ix: await deriveCredentials('IX') });
      expect((await plain(ctx).step(msg('', 'ix', 'I\u00ADX'))).kind).toBe('success');
    });

    it('maps the authcid before the localpart profile', async () => {
      const ctx = context({ ix: await deriveCredentials('pencil') });
      expect(await plain(ctx).step(msg('', 'I\u00ADX', 'pencil'))).toEqual({ kind: 'success', username: 'ix' });
      expect(ctx.lookups).toEqual(['ix']);
    });

    it('normalises the authcid with NFKC', async () => {
      const ctx = context(accounts);
      expect(await plain(ctx).step(msg('', 'i\u0065\u0301x', 'IX'))).toEqual({ kind: 'success', username: 'i\u00e9x' });
    });

    it('rejects a password with prohibited characters as malformed-request without a lookup', async () => {
      const ctx = context(accounts);
      expectFailure(await plain(ctx).step(msg('', 'juliet', 'r0m30\u0007')), 'malformed-request');
      expectFailure(await plain(ctx).step(msg('', 'juliet', '\u0627\u0031')), 'malformed-request');
      expect(ctx.lookups).toEqual([]);
    });

    it('rejects an authcid that SASLprep or the localpart profile refuses as not-authorized', async () => {
      const ctx = context(accounts);
      expectFailure(await plain(ctx).step(msg('', 'jul\u0007iet', 'r0m30 & more')), 'not-authorized');
      expectFailure(await plain(ctx).step(msg('', 'juliet@example.com', 'r0m30 & more')), 'not-authorized');
      expectFailure(await plain(ctx).step(msg('', '\u00AD', 'r0m30 & more')), 'not-authorized');
      expect(ctx.lookups).toEqual([]);
    });
  });

  describe('malformed messages', () => {
    const cases: [string, Buffer][] = [
      ['no NUL at all', Buffer.from('juliet')],
      ['a single NUL', Buffer.from('\0juliet')],
      ['three NULs', Buffer.from('\0juliet\0pw\0extra')],
      ['an empty authcid', msg('', '', 'pw')],
      ['an empty password', msg('', 'juliet', '')],
      ['invalid UTF-8', Buffer.from([0, 0x6a, 0, 0xff, 0xfe])],
      ['an overlong UTF-8 NUL', Buffer.from([0x61, 0xc0, 0x80, 0x6a, 0, 0x70])],
      ['a message longer than 8 KiB', msg('', 'juliet', 'x'.repeat(9000))],
    ];
    for (const [what, bytes] of cases) {
      it(`fails ${what} with malformed-request`, async () => {
        expectFailure(await plain(context(accounts)).step(bytes), 'malformed-request');
      });
    }
  });

  it('never throws on random input', async () => {
    const cheap = { juliet: await deriveCredentials('pw', 16) };
    const message = fc.oneof(
      fc.uint8Array({ maxLength: 100 }).map((u) => Buffer.from(u)),
      fc.array(fc.string({ unit: 'binary', maxLength: 12 }), { maxLength: 4 }).map((a) => Buffer.from(a.join('\0'))),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(message, { minLength: 1, maxLength: 3 }), async (messages) => {
        const m = plain(context(cheap, { unknownUserIterations: 16 }));
        for (const bytes of messages) {
          const step = await m.step(bytes);
          expect(['challenge', 'success', 'failure']).toContain(step.kind);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
