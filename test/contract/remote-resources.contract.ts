// The RemoteResourceStore contract (src/state/remote-resources.ts).
import { describe, expect, it } from 'vitest';
import { freshUser, useBackend, type BackendFactory } from './helpers.js';

const HOUR = 3_600_000;
const ver = (value: string) => ({ ver: value });

export function remoteResourcesContract(makeBackend: BackendFactory): void {
  describe('RemoteResourceStore contract', () => {
    const backend = useBackend(makeBackend);
    const store = () => backend().remoteResources;

    it('keeps the last caps ver of each remote resource, per account', async () => {
      const [owner, other] = [freshUser('owner'), freshUser('other')];
      await expect(store().set(owner, 'bob@remote.example/phone', ver('v1'), 10, HOUR)).resolves.toBe(true);
      await expect(store().set(owner, 'bob@remote.example/phone', ver('v2'), 10, HOUR)).resolves.toBe(true);
      await expect(store().set(owner, 'bob@remote.example/pc', ver('v3'), 10, HOUR)).resolves.toBe(true);
      expect(await store().list(owner)).toStrictEqual(new Map([['bob@remote.example/phone', ver('v2')], ['bob@remote.example/pc', ver('v3')]]));
      expect((await store().list(other)).size).toBe(0);
    });

    it('keeps the session that sent a directed presence beside the ver of one of our own resources', async () => {
      const owner = freshUser('owner');
      const withToken = { ver: 'v1', session: { id: 's1', token: 't1' } };
      const withoutToken = { ver: 'v2', session: { id: 's2' } };
      await store().set(owner, 'carol@localhost/desk', withToken, 10, HOUR);
      await store().set(owner, 'dave@localhost/pc', withoutToken, 10, HOUR);
      await store().set(owner, 'bob@remote.example/phone', ver('v3'), 10, HOUR);
      expect(await store().list(owner)).toStrictEqual(new Map([['carol@localhost/desk', withToken], ['dave@localhost/pc', withoutToken], ['bob@remote.example/phone', ver('v3')]]));
      await store().set(owner, 'carol@localhost/desk', { ver: 'v4', session: { id: 's5' } }, 10, HOUR);
      expect((await store().list(owner)).get('carol@localhost/desk')).toStrictEqual({ ver: 'v4', session: { id: 's5' } });
    });

    it('removes one resource, or every resource of one contact', async () => {
      const owner = freshUser('owner');
      for (const resource of ['bob@remote.example/a', 'bob@remote.example/b', 'eve@remote.example/a']) await store().set(owner, resource, ver('v'), 10, HOUR);
      await store().remove(owner, 'bob@remote.example/a');
      expect([...(await store().list(owner)).keys()].sort()).toStrictEqual(['bob@remote.example/b', 'eve@remote.example/a']);
      await store().removeContact(owner, 'bob@remote.example');
      expect([...(await store().list(owner)).keys()]).toStrictEqual(['eve@remote.example/a']);
    });

    it('refuses one resource more than max, but still updates one it holds', async () => {
      const owner = freshUser('owner');
      const sets = await Promise.all(Array.from({ length: 6 }, (_, index) => store().set(owner, `bob@remote.example/r${index}`, ver('v'), 3, HOUR)));
      expect(sets.filter(Boolean)).toHaveLength(3);
      const held = [...(await store().list(owner)).keys()];
      expect(held).toHaveLength(3);
      await expect(store().set(owner, held[0] as string, ver('w'), 3, HOUR)).resolves.toBe(true);
      expect((await store().list(owner)).get(held[0] as string)).toStrictEqual(ver('w'));
    });

    it('forgets an account\'s list once its time to live has passed since the last set', async () => {
      const owner = freshUser('owner');
      await store().set(owner, 'bob@remote.example/a', ver('v'), 10, 50);
      const deadline = Date.now() + 5000;
      while ((await store().list(owner)).size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      expect((await store().list(owner)).size).toBe(0);
    });
  });
}
