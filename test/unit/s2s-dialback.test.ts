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
});

describe('s2s routes', () => {
  it('parses domain=host:port pairs and refuses anything else', () => {
    expect([...parseRoutes('a.example=127.0.0.1:5270, b.example=[::1]:5269')]).toEqual([
      ['a.example', { host: '127.0.0.1', port: 5270 }],
      ['b.example', { host: '::1', port: 5269 }],
    ]);
    expect(routesProblem('a.example=host')).toBeDefined();
    expect(routesProblem('a.example=host:1,junk')).toBeDefined();
  });

  it('uses a static route first, and an IP-literal domain directly on 5269', async () => {
    expect(await resolveTargets('a.example', parseRoutes('a.example=10.0.0.1:5299'))).toEqual([{ host: '10.0.0.1', port: 5299, directTls: false }]);
    expect(await resolveTargets('127.0.0.9', new Map())).toEqual([{ host: '127.0.0.9', port: 5269, directTls: false }]);
  });
});
