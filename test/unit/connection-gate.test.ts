import { describe, expect, it } from 'vitest';
import { addressKey, ConnectionGate } from '../../src/c2s/connection-gate.js';

function manualClock(): { now: () => number; advance(ms: number): void } {
  let t = 1_000;
  return { now: () => t, advance: (ms) => (t += ms) };
}

const UNLIMITED = { maxConnections: 0, addressConnectionsPerMinute: 0, addressConnectionBurst: 1 };

describe('ConnectionGate', () => {
  it('admits a burst of connections from one address, then refuses with policy-violation', () => {
    const gate = new ConnectionGate({ ...UNLIMITED, addressConnectionsPerMinute: 60, addressConnectionBurst: 3 }, { now: manualClock().now });
    expect([1, 2, 3].map(() => gate.admit('192.0.2.1', 0))).toEqual([undefined, undefined, undefined]);
    const refusal = gate.admit('192.0.2.1', 0);
    expect(refusal?.limit).toBe('c2s_connection_rate');
    expect(refusal?.error.condition).toBe('policy-violation');
  });

  it('keeps addresses apart, and lets one in again once its rate refilled', () => {
    const clock = manualClock();
    const gate = new ConnectionGate({ ...UNLIMITED, addressConnectionsPerMinute: 60, addressConnectionBurst: 1 }, { now: clock.now });
    expect(gate.admit('192.0.2.1', 0)).toBeUndefined();
    expect(gate.admit('192.0.2.1', 0)?.limit).toBe('c2s_connection_rate');
    expect(gate.admit('192.0.2.2', 0)).toBeUndefined();
    clock.advance(1_000);
    expect(gate.admit('192.0.2.1', 0)).toBeUndefined();
  });

  it('refuses past the node cap with resource-constraint, whatever the address', () => {
    const gate = new ConnectionGate({ ...UNLIMITED, maxConnections: 2 });
    expect(gate.admit('192.0.2.1', 1)).toBeUndefined();
    const refusal = gate.admit('192.0.2.9', 2);
    expect(refusal?.limit).toBe('c2s_connection_cap');
    expect(refusal?.error.condition).toBe('resource-constraint');
  });

  it('admits everything when both limits are 0', () => {
    const gate = new ConnectionGate(UNLIMITED);
    for (let i = 0; i < 1000; i++) expect(gate.admit('192.0.2.1', i)).toBeUndefined();
    expect(gate.trackedAddresses).toBe(0);
  });

  it('remembers a bounded number of addresses however many it sees, forgetting the least recently seen', () => {
    const gate = new ConnectionGate({ ...UNLIMITED, addressConnectionsPerMinute: 1, addressConnectionBurst: 1 }, { maxAddresses: 100, now: manualClock().now });
    expect(gate.admit('198.51.100.1', 0)).toBeUndefined();
    for (let i = 0; i < 10_000; i++) {
      gate.admit(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, 0);
      if (i % 50 === 0) expect(gate.admit('198.51.100.1', 0)?.limit).toBe('c2s_connection_rate'); // kept: recently seen
    }
    expect(gate.trackedAddresses).toBe(100);
    expect(gate.admit('10.0.0.0', 0)).toBeUndefined(); // long forgotten: a fresh bucket
  });
});

describe('addressKey', () => {
  it('keeps IPv4 addresses, mapped into IPv6 or not', () => {
    expect(addressKey('192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('::FFFF:192.0.2.7')).toBe('192.0.2.7');
  });

  it('groups IPv6 addresses by /64, whatever their spelling', () => {
    const key = '2001:db8:0:1::/64';
    expect(addressKey('2001:db8:0:1::1')).toBe(key);
    expect(addressKey('2001:0DB8:0000:0001:ffff:ffff:ffff:ffff')).toBe(key);
    expect(addressKey('2001:db8::1:0:0:0:2')).toBe(key);
    expect(addressKey('2001:db8:0:1::5%eth0')).toBe(key);
    expect(addressKey('2001:db8:0:2::1')).not.toBe(key);
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('64:ff9b::192.0.2.1')).toBe('64:ff9b:0:0::/64');
  });
});
