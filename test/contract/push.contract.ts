// The PushStore contract (src/state/push.ts).
import { describe, expect, it } from 'vitest';
import type { PushRegistration } from '../../src/state/push.js';
import { freshUser, unique, useBackend, type BackendFactory } from './helpers.js';

function registration(jid: string, node: string, since: number, overrides: Partial<PushRegistration> = {}): PushRegistration {
  return { jid, node, includeBody: false, since, ...overrides };
}

export function pushContract(makeBackend: BackendFactory): void {
  describe('PushStore contract', () => {
    const backend = useBackend(makeBackend);
    const store = () => backend().push;

    it('lists nothing for an account that never enabled push', async () => {
      await expect(store().list(freshUser())).resolves.toStrictEqual([]);
    });

    it('keeps a registration as given, publish-options and all, for its account only', async () => {
      const user = freshUser();
      const entry = registration('push.example.net', 'node-1', 1, { options: "<x xmlns='jabber:x:data' type='submit'/>", includeBody: true });
      await store().enable(user, entry, 5);
      await expect(store().list(user)).resolves.toStrictEqual([entry]);
      await expect(store().list(freshUser())).resolves.toStrictEqual([]);
    });

    it('replaces the registration of the same jid and node when it is enabled again', async () => {
      const user = freshUser();
      await store().enable(user, registration('push.example.net', 'n', 1), 5);
      await store().enable(user, registration('push.example.net', 'n', 2, { options: '<x/>' }), 5);
      await store().enable(user, registration('push.example.net', 'other', 3), 5);
      await expect(store().list(user)).resolves.toStrictEqual([registration('push.example.net', 'n', 2, { options: '<x/>' }), registration('push.example.net', 'other', 3)]);
    });

    it('drops the oldest registration once the account holds the most it may', async () => {
      const user = freshUser();
      for (const [i, node] of ['a', 'b', 'c'].entries()) await store().enable(user, registration('push.example.net', node, 10 + i), 3);
      await store().enable(user, registration('push.example.net', 'd', 20), 3);
      expect((await store().list(user)).map((entry) => entry.node)).toStrictEqual(['b', 'c', 'd']);
    });

    it('disables one node of an app server, or every node of it', async () => {
      const user = freshUser();
      for (const [i, node] of ['a', 'b', 'c'].entries()) await store().enable(user, registration('one.example.net', node, i), 10);
      await store().enable(user, registration('two.example.net', 'a', 5), 10);
      await expect(store().disable(user, 'one.example.net', 'b')).resolves.toBe(1);
      await expect(store().disable(user, 'one.example.net', 'b')).resolves.toBe(0);
      expect((await store().list(user)).map((entry) => `${entry.jid}/${entry.node}`)).toStrictEqual(['one.example.net/a', 'one.example.net/c', 'two.example.net/a']);
      await expect(store().disable(user, 'one.example.net')).resolves.toBe(2);
      expect((await store().list(user)).map((entry) => `${entry.jid}/${entry.node}`)).toStrictEqual(['two.example.net/a']);
    });

    it('does not take a jid that merely starts with the disabled one for it', async () => {
      const user = freshUser();
      await store().enable(user, registration('push.example.net', 'a', 1), 10);
      await store().enable(user, registration('push.example.network', 'a', 2), 10);
      await expect(store().disable(user, 'push.example.net')).resolves.toBe(1);
      expect((await store().list(user)).map((entry) => entry.jid)).toStrictEqual(['push.example.network']);
    });

    it('gives the registrations to the first claim of an event only', async () => {
      const user = freshUser();
      const entry = registration('push.example.net', 'a', 1);
      await store().enable(user, entry, 5);
      const event = unique('event');
      const claims = await Promise.all([1, 2, 3, 4].map(() => store().claim(user, event, 60_000)));
      expect(claims.filter((claimed) => claimed.length > 0)).toStrictEqual([[entry]]);
      await expect(store().claim(user, unique('event'), 60_000)).resolves.toStrictEqual([entry]);
    });

    it('claims nothing for an account without registrations, so enabling later still notifies that event', async () => {
      const user = freshUser();
      const event = unique('event');
      await expect(store().claim(user, event, 60_000)).resolves.toStrictEqual([]);
      await store().enable(user, registration('push.example.net', 'a', 1), 5);
      await expect(store().claim(user, event, 60_000)).resolves.toHaveLength(1);
    });

    it('lets an event be claimed again once its claim expired', async () => {
      const user = freshUser();
      await store().enable(user, registration('push.example.net', 'a', 1), 5);
      const event = unique('event');
      await expect(store().claim(user, event, 30)).resolves.toHaveLength(1);
      await expect(store().claim(user, event, 30)).resolves.toStrictEqual([]);
      await new Promise((resolve) => setTimeout(resolve, 60));
      await expect(store().claim(user, event, 30)).resolves.toHaveLength(1);
    });

    it('forgets every registration of a deleted account', async () => {
      const user = freshUser();
      await store().enable(user, registration('push.example.net', 'a', 1), 5);
      await store().deleteAll(user);
      await expect(store().list(user)).resolves.toStrictEqual([]);
    });
  });
}
