// The SharedSecrets contract (src/state/secrets.ts).
import { describe, expect, it } from 'vitest';
import { useBackend, type BackendFactory } from './helpers.js';

export function secretsContract(makeBackend: BackendFactory): void {
  describe('SharedSecrets contract', () => {
    const backend = useBackend(makeBackend);

    it('creates 32 random bytes once: racing first calls and later calls agree', async () => {
      const secrets = await Promise.all(Array.from({ length: 8 }, () => backend().secrets.obtain('upload')));
      expect(secrets[0]).toHaveLength(32);
      for (const secret of secrets) expect(secret.equals(secrets[0]!)).toBe(true);
      expect((await backend().secrets.obtain('upload')).equals(secrets[0]!)).toBe(true);
      expect(secrets[0]!.equals(Buffer.alloc(32))).toBe(false);
    });
  });
}
