// ComponentRegistry in this process (the embedded deployment is one node; tests).
import { type ComponentClaim, type ComponentHolder, type ComponentRegistry, sameHolder } from '../components.js';

export class MemoryComponentRegistry implements ComponentRegistry {
  private readonly holds = new Map<string, ComponentHolder>();

  async claim(domain: string, holder: ComponentHolder, replacing?: ComponentHolder): Promise<ComponentClaim> {
    const current = this.holds.get(domain);
    if (current && !sameHolder(current, replacing) && !sameHolder(current, holder)) return { claimed: false, holder: { ...current } };
    this.holds.set(domain, { ...holder });
    return { claimed: true };
  }

  async release(domain: string, holder: ComponentHolder): Promise<boolean> {
    if (!sameHolder(this.holds.get(domain), holder)) return false;
    this.holds.delete(domain);
    return true;
  }

  async holder(domain: string): Promise<ComponentHolder | undefined> {
    const current = this.holds.get(domain);
    return current ? { ...current } : undefined;
  }

  async releaseNode(node: string): Promise<string[]> {
    const released: string[] = [];
    for (const [domain, holder] of this.holds) {
      if (holder.node !== node) continue;
      this.holds.delete(domain);
      released.push(domain);
    }
    return released;
  }
}
