// XEP-0185 keys, the per-domain policy and the static routes.
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config.js';
import { parseRoutes, routesProblem } from '../../src/config/types.js';
import { dialbackKey, keyMatches } from '../../src/s2s/dialback.js';
import { S2SPolicy } from '../../src/s2s/policy.js';
import { resolveTargets } from '../../src/s2s/resolve.js';

describe('dialback keys (XEP-0185)', () => {
  const secret = Buffer.from('s3cr3tf0rd14lb4ck');

  it('is HMAC-SHA256 in hex, keyed by the hex SHA-256 of the secret (XEP-0185 §2)', async () => {
    const { createHash, createHmac } = await import('node:crypto');
    const keyOfSecret = createHash('sha256').update('s3cr3tf0rd14lb4ck').digest('hex');
    const expected = createHmac('sha256', keyOfSecret).update('example.net example.com D60000229F').digest('hex');
    expect(dialbackKey(secret, 'example.net', 'example.com', 'D60000229F')).toBe(expected);
    expect(expected).toMatch(/^[0-9a-f]{64}$/);
  });

  it('accepts only the key of the same receiving, originating and stream id', () => {
    const key = dialbackKey(secret, 'example.net', 'example.com', 'D60000229F');
    expect(keyMatches(secret, 'example.net', 'example.com', 'D60000229F', key)).toBe(true);
    expect(keyMatches(secret, 'example.net', 'example.com', 'D60000229G', key)).toBe(false);
    expect(keyMatches(secret, 'example.org', 'example.com', 'D60000229F', key)).toBe(false);
    expect(keyMatches(Buffer.from('other'), 'example.net', 'example.com', 'D60000229F', key)).toBe(false);
    expect(keyMatches(secret, 'example.net', 'example.com', 'D60000229F', 'short')).toBe(false);
  });
});

describe('s2s policy', () => {
  it('blocks, allows, and requires TLS and certificates per domain', () => {
    const policy = new S2SPolicy({ ...defaultConfig(), s2sBlockedDomains: 'bad.example', s2sInsecureDomains: 'old.example', s2sSecureDomains: 'bank.example' });
    expect(policy.permits('bad.example')).toBe(false);
    expect(policy.permits('good.example')).toBe(true);
    expect(policy.requiresTls('good.example')).toBe(true);
    expect(policy.requiresTls('old.example')).toBe(false);
    expect(policy.requiresCertificate('good.example')).toBe(false);
    expect(policy.requiresCertificate('bank.example')).toBe(true);
    const strict = new S2SPolicy({ ...defaultConfig(), s2sSecureAuth: true, s2sInsecureDomains: 'old.example', s2sAllowedDomains: 'a.example,old.example' });
    expect(strict.requiresCertificate('a.example')).toBe(true);
    expect(strict.requiresCertificate('old.example')).toBe(false);
    expect(strict.permits('b.example')).toBe(false);
  });

  it('requires TLS of a domain whose certificate must verify, even with s2sRequireEncryption off', () => {
    const lax = new S2SPolicy({ ...defaultConfig(), s2sRequireEncryption: false, s2sSecureDomains: 'bank.example' });
    expect(lax.requiresTls('bank.example')).toBe(true);
    expect(lax.requiresTls('other.example')).toBe(false);
  });
});

describe('s2s routes', () => {
  it('parses domain=host:port pairs and refuses anything else', () => {
    expect([...parseRoutes('a.example=127.0.0.1:5270, b.example=[::1]:5269, c.example=tls:c.host:5270')]).toEqual([
      ['a.example', { host: '127.0.0.1', port: 5270, tls: false }],
      ['b.example', { host: '::1', port: 5269, tls: false }],
      ['c.example', { host: 'c.host', port: 5270, tls: true }],
    ]);
    expect(routesProblem('a.example=host')).toBeDefined();
    expect(routesProblem('a.example=ssl:host:1')).toBeDefined();
    expect(routesProblem('a.example=host:1,junk')).toBeDefined();
  });

  it('uses a static route first, and an IP-literal domain directly on 5269', async () => {
    expect(await resolveTargets('a.example', parseRoutes('a.example=10.0.0.1:5299'))).toEqual([{ host: '10.0.0.1', port: 5299, directTls: false }]);
    expect(await resolveTargets('a.example', parseRoutes('a.example=tls:10.0.0.1:5223'))).toEqual([{ host: '10.0.0.1', port: 5223, directTls: true }]);
    expect(await resolveTargets('127.0.0.9', new Map())).toEqual([{ host: '127.0.0.9', port: 5269, directTls: false }]);
  });
});

describe('s2s DNS SRV (RFC 6120 §3.2.1, XEP-0368)', () => {
  it('merges _xmpps-server and _xmpp-server targets by priority, direct TLS first on a tie', async () => {
    const { startDnsServer } = await import('../support/dns-server.js');
    const dns = await startDnsServer({
      '_xmpps-server._tcp.srv.example': [{ priority: 10, weight: 0, port: 5270, target: 'tls.srv.example' }],
      '_xmpp-server._tcp.srv.example': [
        { priority: 5, weight: 0, port: 5269, target: 'first.srv.example' },
        { priority: 10, weight: 0, port: 5269, target: 'tcp.srv.example' },
      ],
    });
    try {
      expect(await resolveTargets('srv.example', new Map(), [dns.address])).toEqual([
        { host: 'first.srv.example', port: 5269, directTls: false },
        { host: 'tls.srv.example', port: 5270, directTls: true },
        { host: 'tcp.srv.example', port: 5269, directTls: false },
      ]);
      // No record at all: the domain itself on 5269.
      expect(await resolveTargets('none.example', new Map(), [dns.address])).toEqual([{ host: 'none.example', port: 5269, directTls: false }]);
    } finally {
      dns.close();
    }
  });
});
