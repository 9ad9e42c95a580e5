// In-process CapsStore: bounded (a client names its ver, so the map cannot grow without end).
import type { CapsStore } from '../caps.js';

const MAX_VERS = 10_000;

export class MemoryCapsStore implements CapsStore {
  private readonly known = new Map<string, string[]>();
  private readonly claims = new Map<string, number>();

  async features(ver: string): Promise<string[] | undefined> {
    const features = this.known.get(ver);
    return features ? [...features] : undefined;
  }

  async store(ver: string, features: string[]): Promise<void> {
    if (!this.known.has(ver) && this.known.size >= MAX_VERS) this.known.delete(this.known.keys().next().value as string);
    this.known.set(ver, [...features]);
    this.claims.delete(ver);
  }

  async claim(ver: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    const until = this.claims.get(ver);
    if (until !== undefined && until > now) return false;
    if (this.claims.size >= MAX_VERS) this.claims.clear();
    this.claims.set(ver, now + ttlMs);
    return true;
  }
}
