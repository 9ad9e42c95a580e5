// The configuration schema: defaults, then YAML, then the environment, and every kind of bad
// input refused with one line naming the key and what it expected.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultConfig, loadConfig, maskedConfig, renderConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'rookery-config-'));
let files = 0;

function yamlFile(text: string): string {
  const file = join(dir, `config-${files++}.yaml`);
  writeFileSync(file, text);
  return file;
}

/** The one-line message loadConfig refuses the input with. */
function refusal(options: Parameters<typeof loadConfig>[0]): string {
  try {
    loadConfig(options);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('the configuration was accepted');
}

describe('loading the configuration', () => {
  it('gives the defaults when neither a file nor a variable is set', () => {
    const config = loadConfig({ env: {} });
    expect(config).toEqual(defaultConfig());
    expect(config).toMatchObject({ domain: 'localhost', dataDir: './data', httpPublicUrl: undefined, allowPlaintextAuth: false });
  });

  it('lets the file override the defaults and the environment override the file', () => {
    const file = yamlFile('domain: file.example\nc2sPort: 6222\nlimits:\n  maxDepth: 10\n  maxConnections: 5\n');
    const config = loadConfig({ file, env: { ROOKERY_C2S_PORT: '7222', ROOKERY_LIMIT_MAX_DEPTH: '20' } });
    expect(config).toMatchObject({ domain: 'file.example', c2sPort: 7222, limits: { maxDepth: 20, maxConnections: 5 } });
  });

  it('reads the file named by ROOKERY_CONFIG', () => {
    const file = yamlFile('allowRegistration: true\n');
    expect(loadConfig({ env: { ROOKERY_CONFIG: file } }).allowRegistration).toBe(true);
  });

  it('reads booleans from the environment as true/false, 1/0, yes/no and on/off', () => {
    const read = (value: string): boolean => loadConfig({ env: { ROOKERY_ALLOW_REGISTRATION: value } }).allowRegistration;
    expect(['true', '1', 'yes', 'on', 'TRUE'].map(read)).toEqual([true, true, true, true, true]);
    expect(['false', '0', 'no', 'off'].map(read)).toEqual([false, false, false, false]);
  });

  it('takes an empty variable as unset', () => {
    expect(loadConfig({ env: { ROOKERY_DOMAIN: '', ROOKERY_REDIS_URL: '' } })).toMatchObject({ domain: 'localhost', redisUrl: undefined });
  });

  it('reads the two new settings, dataDir and httpPublicUrl', () => {
    const config = loadConfig({ env: { ROOKERY_DATA_DIR: '/var/lib/rookery', ROOKERY_HTTP_PUBLIC_URL: 'https://xmpp.example.com/' } });
    expect([config.dataDir, config.httpPublicUrl]).toEqual(['/var/lib/rookery', 'https://xmpp.example.com/']);
  });

  it('leaves an optional setting unset when the file gives it as null', () => {
    expect(loadConfig({ file: yamlFile('redisUrl: ~\n'), env: {} }).redisUrl).toBeUndefined();
  });

  it('accepts DNS names, IPv4 addresses and bracketed IPv6 addresses as the domain', () => {
    for (const domain of ['localhost', 'xmpp.example.com', 'xn--bcher-kva.example', '192.0.2.1', '[2001:db8::1]']) {
      expect(loadConfig({ env: { ROOKERY_DOMAIN: domain } }).domain).toBe(domain);
    }
  });

  it('accepts the three forms of Redis URL', () => {
    for (const url of ['redis://user:pw@redis:6379/0', 'rediss://h1:6379,h2:6379', 'redis-sentinel://:pw@s1:26379,s2:26379/mymaster']) {
      expect(loadConfig({ env: { ROOKERY_REDIS_URL: url } }).redisUrl).toBe(url);
    }
  });
});

describe('refusing a bad configuration', () => {
  it('refuses an unknown ROOKERY_ variable and suggests the nearest name', () => {
    expect(refusal({ env: { ROOKERY_DOMIAN: 'x' } })).toBe('unknown environment variable ROOKERY_DOMIAN (did you mean ROOKERY_DOMAIN?)');
    expect(refusal({ env: { ROOKERY_SOMETHING_ELSE: '1' } })).toBe('unknown environment variable ROOKERY_SOMETHING_ELSE');
  });

  it('refuses a quoted boolean in YAML instead of reading "false" as true', () => {
    const file = yamlFile('allowPlaintextAuth: "false"\n');
    expect(refusal({ file, env: {} })).toBe(`${file}: allowPlaintextAuth: expected a boolean (true or false), got the string "false"`);
  });

  it('refuses an unknown YAML key, at the top level and among the limits', () => {
    const top = yamlFile('domian: example.com\n');
    expect(refusal({ file: top, env: {} })).toBe(`${top}: unknown setting domian (did you mean domain?)`);
    const limit = yamlFile('limits:\n  maxConnection: 5\n');
    expect(refusal({ file: limit, env: {} })).toBe(`${limit}: unknown setting limits.maxConnection (did you mean limits.maxConnections?)`);
  });

  it('refuses a value of the wrong type in YAML', () => {
    const file = yamlFile('c2sPort: "5222"\n');
    expect(refusal({ file, env: {} })).toBe(`${file}: c2sPort: expected a port number (0-65535), got the string "5222"`);
    expect(refusal({ file: yamlFile('limits: 5\n'), env: {} })).toMatch(/limits: expected a mapping of limits, got 5$/);
    expect(refusal({ file: yamlFile('- a\n'), env: {} })).toMatch(/expected a mapping of settings at the top level$/);
  });

  it('refuses a domain that is no DNS name or IP address, naming the rule', () => {
    expect(refusal({ env: { ROOKERY_DOMAIN: 'not a domain!' } })).toBe(
      'ROOKERY_DOMAIN: expected a domain name of lowercase labels (a-z, 0-9, "-") separated by dots, or an IP address (RFC 7622 domainpart), got "not a domain!"',
    );
    expect(refusal({ env: { ROOKERY_DOMAIN: 'Example.COM' } })).toBe('ROOKERY_DOMAIN: expected a lowercase domain name ("example.com"), got "Example.COM"');
    for (const domain of ['-bad.example', 'a..b', 'user@example.com', 'example.com.', '1.2.3', '[not-ipv6]', 'x'.repeat(64)]) {
      expect(refusal({ env: { ROOKERY_DOMAIN: domain } })).toMatch(/^ROOKERY_DOMAIN: expected /);
    }
  });

  it('refuses a log level that pino does not have', () => {
    expect(refusal({ env: { ROOKERY_LOG_LEVEL: 'verbose' } })).toBe('ROOKERY_LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent, got "verbose"');
  });

  it('refuses ports outside 0-65535 and integers that are not digits', () => {
    expect(refusal({ env: { ROOKERY_HTTP_PORT: '65536' } })).toBe('ROOKERY_HTTP_PORT: expected a port number (0-65535), got "65536"');
    expect(refusal({ env: { ROOKERY_C2S_PORT: '5e3' } })).toBe('ROOKERY_C2S_PORT: expected a port number (0-65535), got "5e3"');
  });

  it('refuses a boolean variable that is no boolean word', () => {
    expect(refusal({ env: { ROOKERY_REDIS_CLUSTER: 'maybe' } })).toBe('ROOKERY_REDIS_CLUSTER: expected a boolean (true/false, 1/0, yes/no, on/off), got "maybe"');
  });

  it('refuses a node id with characters outside A-Z a-z 0-9 . _ -', () => {
    expect(refusal({ env: { ROOKERY_NODE_ID: 'node 1' } })).toBe('ROOKERY_NODE_ID: expected 1-128 characters of A-Z a-z 0-9 . _ -, got "node 1"');
  });

  it('refuses a bad Redis URL without ever showing it, since it may hold a password', () => {
    const message = refusal({ env: { ROOKERY_REDIS_URL: 'http://user:hunter2@redis:6379' } });
    expect(message).toBe('ROOKERY_REDIS_URL: expected a URL with the scheme redis, rediss or redis-sentinel (not http)');
    expect(refusal({ env: { ROOKERY_REDIS_URL: 'redis-sentinel://:hunter2@s1:26379' } })).toMatch(/^ROOKERY_REDIS_URL: expected a URL of the form redis-sentinel:\/\/.*masterName$/);
    expect(refusal({ env: { ROOKERY_REDIS_URL: 'hunter2' } })).not.toContain('hunter2');
  });

  it('refuses an httpPublicUrl that is not http or https', () => {
    expect(refusal({ env: { ROOKERY_HTTP_PUBLIC_URL: 'ftp://example.com' } })).toBe('ROOKERY_HTTP_PUBLIC_URL: expected an absolute http:// or https:// URL, got "ftp://example.com"');
  });

  it('reads XEP-0157 contact addresses as URIs, and refuses an address without a scheme', () => {
    const config = loadConfig({ env: { ROOKERY_CONTACT_ABUSE: 'mailto:abuse@example.org, xmpp:abuse@example.org', ROOKERY_CONTACT_SUPPORT: 'https://example.org/help' } });
    expect([config.contactAbuse, config.contactSupport, config.contactAdmin]).toEqual(['mailto:abuse@example.org, xmpp:abuse@example.org', 'https://example.org/help', undefined]);
    expect(refusal({ env: { ROOKERY_CONTACT_ADMIN: 'admin@example.org' } })).toMatch(/^ROOKERY_CONTACT_ADMIN: expected a comma-separated list of URIs with a scheme.*\("admin@example\.org" is not one\)/);
  });

  it('keeps zero as unlimited for rates and the connection cap only', () => {
    expect(refusal({ env: { ROOKERY_LIMIT_MAX_CONNECTIONS: '-1' } })).toBe('ROOKERY_LIMIT_MAX_CONNECTIONS: expected a non-negative integer (0: unlimited), got "-1"');
    expect(refusal({ env: { ROOKERY_LIMIT_C2S_BURST_BYTES: '0' } })).toBe('ROOKERY_LIMIT_C2S_BURST_BYTES: expected a positive integer, got "0"');
  });

  it('refuses a dead-node threshold shorter than two heartbeats', () => {
    expect(refusal({ env: { ROOKERY_NODE_DEAD_AFTER_MS: '3000' } })).toBe('ROOKERY_NODE_DEAD_AFTER_MS: expected at least twice heartbeatMs (4000), got "3000"');
  });

  it('refuses a certificate without its key, a missing file and a file that is not PEM', () => {
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    writeFileSync(cert, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    writeFileSync(key, '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n');
    expect(refusal({ env: { ROOKERY_TLS_CERT: cert } })).toBe('tlsKey (ROOKERY_TLS_KEY) is not set: tlsCert and tlsKey go together');
    expect(refusal({ env: { ROOKERY_TLS_CERT: join(dir, 'absent.pem'), ROOKERY_TLS_KEY: key } })).toBe(`ROOKERY_TLS_CERT: cannot read ${join(dir, 'absent.pem')} (ENOENT)`);
    expect(refusal({ env: { ROOKERY_TLS_CERT: key, ROOKERY_TLS_KEY: key } })).toBe(`ROOKERY_TLS_CERT: expected a PEM certificate file (-----BEGIN CERTIFICATE-----), got ${key}, which is not`);
    expect(refusal({ env: { ROOKERY_TLS_CERT: cert, ROOKERY_TLS_KEY: cert } })).toMatch(/^ROOKERY_TLS_KEY: expected a PEM private key file/);
    expect(loadConfig({ env: { ROOKERY_TLS_CERT: cert, ROOKERY_TLS_KEY: key } }).tlsCert).toBe(cert);
  });

  it('refuses federation settings that contradict each other, and routes to what is no domain', () => {
    expect(refusal({ env: { ROOKERY_S2S_SECURE_DOMAINS: 'a.example,bank.example', ROOKERY_S2S_INSECURE_DOMAINS: 'old.example, bank.example' } })).toBe(
      'bank.example is in both s2sSecureDomains and s2sInsecureDomains: its certificate cannot be both required and not',
    );
    expect(refusal({ env: { ROOKERY_S2S_BLOCKED_DOMAINS: 'spam.example', ROOKERY_S2S_ALLOWED_DOMAINS: 'a.example,spam.example' } })).toBe('spam.example is in both s2sBlockedDomains and s2sAllowedDomains');
    expect(refusal({ env: { ROOKERY_S2S_PORT: '0', ROOKERY_S2S_TLS_PORT: '5270' } })).toBe('s2sTlsPort (ROOKERY_S2S_TLS_PORT) is set but s2sPort (ROOKERY_S2S_PORT) is 0: federation is off');
    expect(refusal({ env: { ROOKERY_S2S_TLS_PORT: '5269' } })).toBe('s2sTlsPort and s2sPort are both 5269: direct TLS needs a port of its own');
    expect(refusal({ env: { ROOKERY_S2S_BLOCKED_DOMAINS: 'Spam.example' } })).toMatch(/^ROOKERY_S2S_BLOCKED_DOMAINS: expected a comma-separated list of domains \("Spam\.example" is not/);
    expect(refusal({ env: { ROOKERY_S2S_ROUTES: 'bad_name.example=host:5269' } })).toMatch(/^ROOKERY_S2S_ROUTES: expected domain=host:port pairs \("bad_name\.example" is not/);
    expect(refusal({ env: { ROOKERY_S2S_ROUTES: 'a.example=h:1,a.example=h:2' } })).toMatch(/^ROOKERY_S2S_ROUTES: expected domain=host:port \(or domain=tls:host:port\) pairs, comma-separated, each domain once/);
    // Each alone, and the same domain in lists that do not contradict, are fine.
    const config = loadConfig({ env: { ROOKERY_S2S_SECURE_DOMAINS: 'bank.example', ROOKERY_S2S_BLOCKED_DOMAINS: 'bank.example', ROOKERY_S2S_TLS_PORT: '5270', ROOKERY_S2S_ROUTES: 'bank.example=tls:10.0.0.1:5270' } });
    expect([config.s2sSecureDomains, config.s2sBlockedDomains, config.s2sTlsPort]).toEqual(['bank.example', 'bank.example', 5270]);
  });

  it('refuses an s2sCaFile that is missing or holds no certificate', () => {
    const key = join(dir, 'ca-key.pem');
    writeFileSync(key, '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n');
    expect(refusal({ env: { ROOKERY_S2S_CA_FILE: join(dir, 'absent-ca.pem') } })).toBe(`ROOKERY_S2S_CA_FILE: cannot read ${join(dir, 'absent-ca.pem')} (ENOENT)`);
    expect(refusal({ env: { ROOKERY_S2S_CA_FILE: key } })).toBe(`ROOKERY_S2S_CA_FILE: expected a PEM file of certificates (-----BEGIN CERTIFICATE-----), got ${key}, which is not`);
  });

  it('never shows the value of a secret in a message', () => {
    const file = yamlFile('adminToken: 12345\n');
    expect(refusal({ file, env: {} })).toBe(`${file}: adminToken: expected a string`);
  });
});

describe('printing the effective configuration', () => {
  const config = loadConfig({
    env: { ROOKERY_REDIS_URL: 'redis://app:hunter2@redis:6379/0', ROOKERY_REDIS_PASSWORD: 'pa55', ROOKERY_ADMIN_TOKEN: 'tok3n' },
  });

  it('masks the Redis password, the admin token and the password inside the Redis URL', () => {
    expect(maskedConfig(config)).toMatchObject({ redisUrl: 'redis://app:[redacted]@redis:6379/0', redisPassword: '[redacted]', adminToken: '[redacted]' });
    for (const format of ['yaml', 'json'] as const) {
      const text = renderConfig(config, format);
      for (const secret of ['hunter2', 'pa55', 'tok3n']) expect(text).not.toContain(secret);
    }
  });

  it('prints every setting, unset ones as null, in YAML or JSON', () => {
    const json = JSON.parse(renderConfig(config, 'json')) as Record<string, unknown>;
    expect(json).toMatchObject({ domain: 'localhost', httpPublicUrl: null, limits: { maxConnections: 50_000 } });
    expect(renderConfig(config, 'yaml')).toContain('httpPublicUrl: null\n');
  });
});
