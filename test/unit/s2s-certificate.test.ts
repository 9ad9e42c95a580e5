// Our own certificate's check (src/s2s/certificate.ts): only a certificate that names our domain
// and chains to a trusted authority makes our outgoing streams try SASL EXTERNAL (XEP-0178).
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { certificateValidFor, pemCertificates, TrustStore } from '../../src/s2s/certificate.js';
import { selfSignedFiles } from '../support/prosody.js';
import { createTestCa } from '../support/test-ca.js';

describe('s2s certificate checks', () => {
  it('accepts a certificate that names the domain and chains to a trusted CA, and nothing less', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rk-cert-'));
    const ca = await createTestCa(dir);
    const other = await createTestCa(dir, 'Other CA');
    const trust = new TrustStore(readFileSync(ca.caFile, 'utf8'));
    const named = await ca.issue('a.example');
    const ip = await ca.issue('127.20.0.99');
    expect(certificateValidFor(named.certPem, 'a.example', trust)).toBe(true);
    expect(certificateValidFor(ip.certPem, '127.20.0.99', trust)).toBe(true);
    // Another name, another authority, no authority at all (the system's roots know neither).
    expect(certificateValidFor(named.certPem, 'b.example', trust)).toBe(false);
    expect(certificateValidFor((await other.issue('a.example')).certPem, 'a.example', trust)).toBe(false);
    expect(certificateValidFor(named.certPem, 'a.example', new TrustStore(undefined))).toBe(false);
    const selfSigned = await selfSignedFiles(dir, 'a.example');
    expect(certificateValidFor(readFileSync(selfSigned.cert, 'utf8'), 'a.example', trust)).toBe(false);
    // Past its validity period.
    const [leaf] = pemCertificates(named.certPem);
    expect(trust.trusts(leaf ? [leaf] : [], new Date(Date.parse(leaf?.validTo ?? '') + 86_400_000))).toBe(false);
  });
});
