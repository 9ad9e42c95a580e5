// Our own certificate's check (src/s2s/certificate.ts): only a certificate that names our domain
// and chains to a trusted authority makes our outgoing streams try SASL EXTERNAL (XEP-0178). The
// names a certificate gives (src/s2s/names.ts), with certificates openssl makes.
import type { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { certificateValidFor, pemCertificates, TrustStore } from '../../src/s2s/certificate.js';
import { altNames, certificateNames, dnsNameMatches } from '../../src/s2s/names.js';
import { createOpensslCa, opensslAvailable, srvName, xmppAddr } from '../support/openssl-ca.js';
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

describe.skipIf(!opensslAvailable())('XMPP names in a server certificate (RFC 6120 §13.7.1.2, RFC 6125 §6.4), made by openssl', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rk-names-'));
  const ca = createOpensslCa(dir);
  const trust = new TrustStore(readFileSync(ca.caFile, 'utf8'));
  const leaf = (pem: string): X509Certificate => pemCertificates(pem)[0] as X509Certificate;

  it('reads id-on-xmppAddr, SRV-ID, DNS-ID and URI entries from the subjectAltName', () => {
    const { certPem } = ca.issue('all', 'cn.example', [xmppAddr('x.example'), srvName('xmpp-server', 's.example'), 'DNS:d.example', 'URI:xmpp:u.example', 'IP:127.0.0.1', srvName('xmpp-client', 'c.example')]);
    expect(altNames(leaf(certPem))).toEqual({ dns: ['d.example'], srv: ['_xmpp-server.s.example', '_xmpp-client.c.example'], xmppAddr: ['x.example'], uris: 1 });
    expect(altNames(leaf(ca.issue('none', 'cn.example', []).certPem))).toEqual({ dns: [], srv: [], xmppAddr: [], uris: 0 });
  });

  it('accepts a domain named only by id-on-xmppAddr, without regard to case and never by a wildcard', () => {
    const { certPem } = ca.issue('xmppaddr', 'other.example', [xmppAddr('X.Example'), xmppAddr('*.wild.example')]);
    expect(certificateValidFor(certPem, 'x.example', trust)).toBe(true);
    expect(certificateValidFor(certPem, 'a.wild.example', trust)).toBe(false);
    // The CN is not read once the certificate has a subjectAltName identifier.
    expect(certificateValidFor(certPem, 'other.example', trust)).toBe(false);
    // Still only from a trusted authority.
    expect(certificateValidFor(certPem, 'x.example', new TrustStore(undefined))).toBe(false);
  });

  it('accepts a domain named only by an _xmpp-server SRV-ID, and by no other service', () => {
    const server = ca.issue('srv', 'other.example', [srvName('xmpp-server', 's.example')]);
    expect(certificateValidFor(server.certPem, 's.example', trust)).toBe(true);
    expect(certificateValidFor(server.certPem, 'other.example', trust)).toBe(false);
    const client = ca.issue('srv-client', 'c.example', [srvName('xmpp-client', 'c.example'), srvName('imap', 'c.example')]);
    expect(certificateValidFor(client.certPem, 'c.example', trust)).toBe(false);
  });

  it('matches a DNS-ID wildcard for exactly one leftmost label', () => {
    const { certPem } = ca.issue('wildcard', 'w.example', ['DNS:*.w.example']);
    expect(certificateNames(leaf(certPem), 'a.w.example')).toBe(true);
    expect(certificateNames(leaf(certPem), 'w.example')).toBe(false);
    expect(certificateNames(leaf(certPem), 'a.b.w.example')).toBe(false);
    expect(dnsNameMatches('*.W.Example', 'a.w.example')).toBe(true);
    expect(dnsNameMatches('*.com', 'example.com')).toBe(false);
    expect(dnsNameMatches('a.*.example', 'a.b.example')).toBe(false);
  });

  it('reads the subject CN only when the certificate has no subjectAltName identifier', () => {
    expect(certificateValidFor(ca.issue('cn-only', 'cn.example', []).certPem, 'cn.example', trust)).toBe(true);
    expect(certificateValidFor(ca.issue('cn-and-uri', 'cn.example', ['URI:https://cn.example/']).certPem, 'cn.example', trust)).toBe(false);
    // An IP-literal domain is matched by an IP entry, as before.
    expect(certificateValidFor(ca.issue('ip', '127.20.0.99', ['IP:127.20.0.99']).certPem, '127.20.0.99', trust)).toBe(true);
  });
});
