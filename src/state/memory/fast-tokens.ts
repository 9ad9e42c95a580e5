// FastTokenStore in this process (state/fast-tokens.ts): a map per account.
import { applyIssue, applyUse, type FastSlot, type FastToken, type FastTokens, type FastTokenStore, lastExpiry, unexpired } from '../fast-tokens.js';

export class MemoryFastTokenStore implements FastTokenStore {
  private readonly accounts = new Map<string, Map<string, FastTokens>>();

  async issue(user: string, device: string, token: FastToken, maxDevices: number): Promise<void> {
    let devices = this.accounts.get(user);
    if (!devices) this.accounts.set(user, (devices = new Map()));
    const next = applyIssue(unexpired(devices.get(device) ?? {}, token.issuedAt), token);
    devices.delete(device);
    evict(devices, Math.max(0, maxDevices - 1));
    devices.set(device, next);
  }

  async get(user: string, device: string, now: number): Promise<FastTokens> {
    return unexpired(this.accounts.get(user)?.get(device) ?? {}, now);
  }

  async use(user: string, device: string, slot: FastSlot, secret: string, count: number | undefined, now: number): Promise<boolean> {
    const devices = this.accounts.get(user);
    const next = applyUse(devices?.get(device) ?? {}, slot, secret, count, now);
    if (!devices || !next) return false;
    devices.set(device, next);
    return true;
  }

  async revoke(user: string, device: string): Promise<void> {
    this.accounts.get(user)?.delete(device);
  }

  async deleteAll(user: string): Promise<void> {
    this.accounts.delete(user);
  }
}

/** Removes the devices whose tokens expire first until at most `keep` are left. */
function evict(devices: Map<string, FastTokens>, keep: number): void {
  const order = [...devices.entries()].sort((a, b) => lastExpiry(a[1]) - lastExpiry(b[1]));
  for (const [device] of order.slice(0, Math.max(0, devices.size - keep))) devices.delete(device);
}
