// The ComponentRegistry contract (src/state/components.ts).
import { describe, expect, it } from 'vitest';
import { unique, useBackend, type BackendFactory } from './helpers.js';

const domain = (): string => `${unique('component')}.example.com`;

export function componentsContract(makeBackend: BackendFactory): void {
  describe('ComponentRegistry contract', () => {
    const backend = useBackend(makeBackend);
    const registry = () => backend().components;

    it('names no holder for a domain nobody claimed', async () => {
      await expect(registry().holder(domain())).resolves.toBeUndefined();
    });

    it('lets exactly one of several concurrent claims hold a domain', async () => {
      const name = domain();
      const claims = await Promise.all(['n1', 'n2', 'n3'].map((node) => registry().claim(name, { node, connection: 'c' })));
      const winners = claims.filter((claim) => claim.claimed);
      expect(winners).toHaveLength(1);
      const holder = await registry().holder(name);
      expect(claims.filter((claim) => !claim.claimed)).toStrictEqual([
        { claimed: false, holder },
        { claimed: false, holder },
      ]);
    });

    it('lets the holder claim its own domain again', async () => {
      const name = domain();
      await registry().claim(name, { node: 'n1', connection: 'c1' });
      await expect(registry().claim(name, { node: 'n1', connection: 'c1' })).resolves.toStrictEqual({ claimed: true });
    });

    it('hands a domain over only to a claim that names its current holder', async () => {
      const name = domain();
      await registry().claim(name, { node: 'n1', connection: 'c1' });
      await expect(registry().claim(name, { node: 'n2', connection: 'c2' }, { node: 'n1', connection: 'other' })).resolves.toStrictEqual({ claimed: false, holder: { node: 'n1', connection: 'c1' } });
      await expect(registry().claim(name, { node: 'n2', connection: 'c2' }, { node: 'n1', connection: 'c1' })).resolves.toStrictEqual({ claimed: true });
      await expect(registry().holder(name)).resolves.toStrictEqual({ node: 'n2', connection: 'c2' });
    });

    it('releases a domain for its holder only', async () => {
      const name = domain();
      await registry().claim(name, { node: 'n1', connection: 'c1' });
      await expect(registry().release(name, { node: 'n1', connection: 'c0' })).resolves.toBe(false);
      await expect(registry().holder(name)).resolves.toStrictEqual({ node: 'n1', connection: 'c1' });
      await expect(registry().release(name, { node: 'n1', connection: 'c1' })).resolves.toBe(true);
      await expect(registry().holder(name)).resolves.toBeUndefined();
      await expect(registry().claim(name, { node: 'n2', connection: 'c2' })).resolves.toStrictEqual({ claimed: true });
    });

    it('releases every domain of a dead node and no other', async () => {
      const dead = unique('dead');
      const [a, b, c] = [domain(), domain(), domain()];
      await registry().claim(a, { node: dead, connection: '1' });
      await registry().claim(b, { node: dead, connection: '2' });
      await registry().claim(c, { node: unique('alive'), connection: '3' });
      expect((await registry().releaseNode(dead)).sort()).toStrictEqual([a, b].sort());
      await expect(registry().holder(a)).resolves.toBeUndefined();
      await expect(registry().holder(c)).resolves.toBeDefined();
    });
  });
}
