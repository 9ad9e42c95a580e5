import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, limitEnvName, loadConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';

describe('limits in the environment', () => {
  it('names every limit ROOKERY_LIMIT_ and its name in upper snake case', () => {
    expect(limitEnvName('c2sBytesPerSecond')).toBe('ROOKERY_LIMIT_C2S_BYTES_PER_SECOND');
    expect(limitEnvName('c2sUnauthedBurstBytes')).toBe('ROOKERY_LIMIT_C2S_UNAUTHED_BURST_BYTES');
    expect(limitEnvName('addressConnectionsPerMinute')).toBe('ROOKERY_LIMIT_ADDRESS_CONNECTIONS_PER_MINUTE');
    expect(limitEnvName('maxConnections')).toBe('ROOKERY_LIMIT_MAX_CONNECTIONS');
    expect(limitEnvName('maxOutboundBytes')).toBe('ROOKERY_LIMIT_MAX_OUTBOUND_BYTES');
  });

  it('reads every limit from its variable', () => {
    const keys = Object.keys(DEFAULT_LIMITS) as (keyof typeof DEFAULT_LIMITS)[];
    const env = Object.fromEntries(keys.map((key, i) => [limitEnvName(key), String(1000 + i)]));
    const { limits } = loadConfig({ env });
    expect(keys.map((key) => limits[key])).toEqual(keys.map((_, i) => 1000 + i));
  });

  it('takes 0 as unlimited for rates and the connection cap, and refuses it elsewhere', () => {
    const off = loadConfig({
      env: {
        ROOKERY_LIMIT_C2S_BYTES_PER_SECOND: '0',
        ROOKERY_LIMIT_C2S_UNAUTHED_BYTES_PER_SECOND: '0',
        ROOKERY_LIMIT_C2S_STANZAS_PER_SECOND: '0',
        ROOKERY_LIMIT_ADDRESS_CONNECTIONS_PER_MINUTE: '0',
        ROOKERY_LIMIT_MAX_CONNECTIONS: '0',
      },
    });
    expect(off.limits).toMatchObject({ c2sBytesPerSecond: 0, c2sUnauthedBytesPerSecond: 0, c2sStanzasPerSecond: 0, addressConnectionsPerMinute: 0, maxConnections: 0 });
    expect(() => loadConfig({ env: { ROOKERY_LIMIT_C2S_BURST_BYTES: '0' } })).toThrow(ConfigError);
    expect(() => loadConfig({ env: { ROOKERY_LIMIT_MAX_CONNECTIONS: '-1' } })).toThrow(ConfigError);
  });

  it('keeps the older names of the stanza size and offline limits', () => {
    const { limits } = loadConfig({ env: { ROOKERY_MAX_STANZA_BYTES: '5000', ROOKERY_OFFLINE_LIMIT: '7' } });
    expect([limits.maxStanzaBytes, limits.offlineMessages]).toEqual([5000, 7]);
  });
});
