// The StateBackend contract (src/state/backend.ts).
import { describe, expect, it } from 'vitest';
import type { BackendFactory } from './helpers.js';

export function backendContract(makeBackend: BackendFactory): void {
  describe('StateBackend contract', () => {
    it('names its kind', async () => {
      const backend = await makeBackend();
      try {
        expect(backend.kind).toMatch(/^[a-z]+$/);
      } finally {
        await backend.close();
      }
    });

    it('can be closed more than once, also concurrently', async () => {
      const backend = await makeBackend();
      await expect(Promise.all([backend.close(), backend.close()])).resolves.toHaveLength(2);
      await expect(backend.close()).resolves.toBeUndefined();
    });
  });
}
