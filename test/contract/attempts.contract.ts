// The AttemptCounters contract (src/state/attempts.ts).
import { describe, expect, it } from 'vitest';
import { unique, useBackend, type BackendFactory } from './helpers.js';

export function attemptsContract(makeBackend: BackendFactory): void {
  describe('AttemptCounters contract', () => {
    const backend = useBackend(makeBackend);

    it('counts adds per key and reads them back, unknown keys as 0', async () => {
      const [a, b] = [unique('a:10.0.0.1'), unique('u:alice@localhost')];
      await expect(backend().attempts.add([a, b], 60_000)).resolves.toStrictEqual([1, 1]);
      await expect(backend().attempts.add([a], 60_000)).resolves.toStrictEqual([2]);
      await expect(backend().attempts.get([a, b, unique('never')])).resolves.toStrictEqual([2, 1, 0]);
    });

    it('adds an amount (the bytes of an upload quota)', async () => {
      const key = unique('q:alice@localhost');
      await expect(backend().attempts.add([key], 60_000, 1500)).resolves.toStrictEqual([1500]);
      await expect(backend().attempts.add([key], 60_000, 250)).resolves.toStrictEqual([1750]);
      await expect(backend().attempts.get([key])).resolves.toStrictEqual([1750]);
    });

    it('counts racing adds exactly', async () => {
      const key = unique('r:192.0.2.1');
      const counts = await Promise.all(Array.from({ length: 20 }, () => backend().attempts.add([key], 60_000)));
      expect(counts.map(([count]) => count).sort((x, y) => (x ?? 0) - (y ?? 0))).toStrictEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    });

    it('forgets a key after its window and after clear', async () => {
      const [short, cleared] = [unique('a:short'), unique('u:cleared')];
      await backend().attempts.add([short], 50);
      await backend().attempts.add([cleared], 60_000);
      await backend().attempts.clear([cleared]);
      await new Promise((resolve) => setTimeout(resolve, 120));
      await expect(backend().attempts.get([short, cleared])).resolves.toStrictEqual([0, 0]);
    });

    it('keeps keys with colons, braces and IPv6 addresses apart', async () => {
      const keys = [unique('a:::1'), unique('a:{x}'), unique('a:2001:db8::1')];
      await backend().attempts.add(keys, 60_000);
      await backend().attempts.add([keys[0] as string], 60_000);
      await expect(backend().attempts.get(keys)).resolves.toStrictEqual([2, 1, 1]);
    });
  });
}
