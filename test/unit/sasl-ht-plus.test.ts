// The HT-SHA-256-* FAST mechanisms (src/sasl/ht.ts) and the GS2 rules of SCRAM-*-PLUS
// (src/sasl/scram.ts), as state machines fed bytes.
import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createMechanism, HtMechanism, type FastCandidate, type FastVerifier, type SaslContext, type SaslStep } from '../../src/sasl/index.js';
import { ssdpInput } from '../../src/sasl/scram.js';

const base: SaslContext = { domain: 'example.com', prepUsername: (name) => name.toLowerCase(), lookup: async () => undefined };
const mac = (secret: string, label: string, cb: Buffer = Buffer.alloc(0)): Buffer => createHmac('sha256', Buffer.from(secret)).update(Buffer.concat([Buffer.from(label), cb])).digest();
const message = (user: string, secret: string, cb?: Buffer): Buffer => Buffer.concat([Buffer.from(`${user}\0`), mac(secret, 'Initiator', cb)]);
const condition = (step: SaslStep): string | undefined => (step.kind === 'failure' ? step.error.condition : undefined);

function verifier(tokens: FastCandidate[], accept = true): FastVerifier & { used: FastCandidate[] } {
  const used: FastCandidate[] = [];
  return {
    used,
    candidates: async () => tokens,
    use: async (_user, candidate) => {
      used.push(candidate);
      return accept;
    },
  };
}

describe('HT-SHA-256 mechanisms', () => {
  it('accepts the current or the previous token and answers with the Responder HMAC', async () => {
    const tokens = verifier([{ slot: 'current', secret: 'new' }, { slot: 'previous', secret: 'old' }]);
    const step = await new HtMechanism('HT-SHA-256-NONE', base, tokens).step(message('Alice', 'old'));
    expect(step).toStrictEqual({ kind: 'success', username: 'alice', data: mac('old', 'Responder') });
    expect(tokens.used).toEqual([{ slot: 'previous', secret: 'old' }]);
  });

  it('refuses a wrong token, a refused use (replayed count), and a message without NUL', async () => {
    expect(condition(await new HtMechanism('HT-SHA-256-NONE', base, verifier([{ slot: 'current', secret: 's' }])).step(message('alice', 'x')))).toBe('not-authorized');
    expect(condition(await new HtMechanism('HT-SHA-256-NONE', base, verifier([{ slot: 'current', secret: 's' }], false)).step(message('alice', 's')))).toBe('not-authorized');
    expect(condition(await new HtMechanism('HT-SHA-256-NONE', base, verifier([])).step(Buffer.from('alice')))).toBe('malformed-request');
  });

  it('binds -EXPR to the channel: the MAC covers the exporter, and no binding refuses', async () => {
    const cb = Buffer.alloc(32, 7);
    const ctx: SaslContext = { ...base, channelBinding: (type) => (type === 'tls-exporter' ? cb : undefined) };
    const tokens = [{ slot: 'current' as const, secret: 's' }];
    expect((await new HtMechanism('HT-SHA-256-EXPR', ctx, verifier(tokens)).step(message('alice', 's', cb))).kind).toBe('success');
    expect(condition(await new HtMechanism('HT-SHA-256-EXPR', ctx, verifier(tokens)).step(message('alice', 's')))).toBe('not-authorized');
    expect(condition(await new HtMechanism('HT-SHA-256-ENDP', ctx, verifier(tokens)).step(message('alice', 's', cb)))).toBe('not-authorized');
  });
});

describe('SCRAM GS2 flags and channel binding', () => {
  const first = (gs2: string): Buffer => Buffer.from(`${gs2}n=alice,r=abcdef`);
  const cb = Buffer.alloc(32, 1);
  const ctx: SaslContext = { ...base, channelBinding: (type) => (type === 'tls-exporter' ? cb : undefined), channelBindingOffered: true, downgradeProtection: { mechanisms: ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256'], channelBindings: ['tls-exporter'] } };

  it('wants p= with a -PLUS mechanism and refuses it without one', async () => {
    expect(condition(await createMechanism('SCRAM-SHA-256-PLUS', ctx)!.step(first('n,,')))).toBe('malformed-request');
    expect(condition(await createMechanism('SCRAM-SHA-256', ctx)!.step(first('p=tls-exporter,,')))).toBe('malformed-request');
    expect(condition(await createMechanism('SCRAM-SHA-256-PLUS', ctx)!.step(first('p=tls-unique,,')))).toBe('malformed-request');
    expect((await createMechanism('SCRAM-SHA-256-PLUS', ctx)!.step(first('p=tls-exporter,,'))).kind).toBe('challenge');
  });

  it('refuses the y flag where binding was offered (a downgrade), and takes it where it was not', async () => {
    expect(condition(await createMechanism('SCRAM-SHA-256', ctx)!.step(first('y,,')))).toBe('not-authorized');
    expect((await createMechanism('SCRAM-SHA-256', { ...ctx, channelBindingOffered: false })!.step(first('y,,'))).kind).toBe('challenge');
  });

  it('puts the XEP-0474 h attribute of the XEP\'s example in the server-first-message (0.4.0: sorted, %x1E and %x1F)', async () => {
    // XEP-0474 §4.3: SHA-1 of 'SCRAM-SHA-1\x1eSCRAM-SHA-1-PLUS\x1ftls-exporter\x1etls-server-end-point'.
    const offered = { mechanisms: ['SCRAM-SHA-1-PLUS', 'SCRAM-SHA-1'], channelBindings: ['tls-server-end-point', 'tls-exporter'] };
    const step = await createMechanism('SCRAM-SHA-1', { ...ctx, downgradeProtection: offered })!.step(first('n,,'));
    const text = step.kind === 'challenge' ? step.data.toString() : '';
    expect(text).toMatch(/,i=\d+,h=G6k\/rBLDqgOhRRaCuuatSDFkJ08=$/);
  });

  it('leaves the channel-binding part out of the XEP-0474 hash when XEP-0440 named no types', async () => {
    expect(ssdpInput(['SCRAM-SHA-256', 'PLAIN', 'SCRAM-SHA-1'], undefined)).toBe('PLAIN\x1eSCRAM-SHA-1\x1eSCRAM-SHA-256');
    const step = await createMechanism('SCRAM-SHA-256', { ...ctx, downgradeProtection: { mechanisms: ['SCRAM-SHA-256', 'PLAIN'] } })!.step(first('n,,'));
    const h = step.kind === 'challenge' ? /,h=([^,]+)$/.exec(step.data.toString())?.[1] : undefined;
    expect(h).toBe(createHash('sha256').update('PLAIN\x1eSCRAM-SHA-256').digest('base64'));
  });
});
