// ComponentRegistry on Redis (state/components.ts): one hash of the few component domains
// (<p>:v1:components), claimed and released by compare-and-set scripts.
import type { ComponentClaim, ComponentHolder, ComponentRegistry } from '../../src/state/components.js';
import type { RedisClient } from './connection.js';
import { RedisStateError } from './errors.js';
import type { KeyBuilder } from './keys.js';
import { integerReply, type Scripts, stringReply } from './scripts.js';

/** One serialization (fixed field order), so the scripts compare holders as strings. */
function encode(holder: ComponentHolder): string {
  return JSON.stringify({ node: holder.node, connection: holder.connection });
}

function decode(raw: string): ComponentHolder {
  try {
    const value = JSON.parse(raw) as Partial<ComponentHolder>;
    if (typeof value.node === 'string' && typeof value.connection === 'string') return { node: value.node, connection: value.connection };
  } catch {
    // reported below
  }
  throw new RedisStateError('ROOKERY_REDIS_CORRUPT', 'A component holder cannot be decoded');
}

export class RedisComponentRegistry implements ComponentRegistry {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeyBuilder,
    private readonly scripts: Scripts,
  ) {}

  async claim(domain: string, holder: ComponentHolder, replacing?: ComponentHolder): Promise<ComponentClaim> {
    const outcome = await this.scripts.run('component-claim-1', [this.keys.components()], [domain, encode(holder), replacing ? encode(replacing) : '']);
    if (outcome.rejected) throw new RedisStateError('ROOKERY_REDIS_SCRIPT', 'component-claim-1 answered -1');
    if (typeof outcome.value === 'number') {
      integerReply('component-claim-1', outcome);
      return { claimed: true };
    }
    return { claimed: false, holder: decode(stringReply('component-claim-1', outcome) ?? '') };
  }

  async release(domain: string, holder: ComponentHolder): Promise<boolean> {
    return !(await this.scripts.run('component-release-1', [this.keys.components()], [domain, encode(holder)])).rejected;
  }

  async holder(domain: string): Promise<ComponentHolder | undefined> {
    const raw = await this.client.hget(this.keys.components(), domain);
    return raw === null ? undefined : decode(raw);
  }

  async releaseNode(node: string): Promise<string[]> {
    const released: string[] = [];
    for (const [domain, raw] of Object.entries(await this.client.hgetall(this.keys.components()))) {
      const holder = decode(raw);
      if (holder.node === node && (await this.release(domain, holder))) released.push(domain);
    }
    return released;
  }
}
