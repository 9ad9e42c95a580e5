// Wraps a shared backend's hot-path reads in node-local caches kept coherent by a ChangeFeed.
import type { StateBackend } from '../backend.js';
import type { ChangeFeed } from '../changes.js';
import { CachedBlocklistStore } from './blocklist.js';
import { CachedSessionRegistry } from './sessions.js';

export function withNodeCaches(backend: StateBackend, feed: ChangeFeed): StateBackend {
  const sessions = new CachedSessionRegistry(backend.registry, feed);
  const blocklists = new CachedBlocklistStore(backend.blocklists, feed);
  feed.subscribe({
    changed(bareJid, kind) {
      if (kind === 'sessions') sessions.invalidate(bareJid);
      else blocklists.invalidate(bareJid);
    },
    reset() {
      sessions.clear();
      blocklists.clear();
    },
  });
  return {
    ...backend,
    kind: backend.kind,
    registry: sessions,
    blocklists,
    close: async () => {
      await feed.close();
      await backend.close();
    },
  };
}
