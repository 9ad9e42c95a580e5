// Wraps a shared backend's hot-path reads in node-local caches kept coherent by a ChangeFeed.
import type { StateBackend } from '../backend.js';
import type { ChangeFeed } from '../changes.js';
import { CachedBlocklistStore } from './blocklist.js';
import { CachedRosterStore } from './roster.js';
import { CachedSessionRegistry } from './sessions.js';

export function withNodeCaches(backend: StateBackend, feed: ChangeFeed): StateBackend {
  const sessions = new CachedSessionRegistry(backend.registry, feed);
  const blocklists = new CachedBlocklistStore(backend.blocklists, feed);
  const rosters = new CachedRosterStore(backend.rosters, feed);
  feed.subscribe({
    changed(bareJid, kind) {
      if (kind === 'sessions') sessions.invalidate(bareJid);
      else if (kind === 'blocklist') blocklists.invalidate(bareJid);
      else rosters.invalidate(bareJid);
    },
    reset() {
      sessions.clear();
      blocklists.clear();
      rosters.clear();
    },
  });
  return {
    ...backend,
    kind: backend.kind,
    registry: sessions,
    blocklists,
    rosters,
    close: async () => {
      await feed.close();
      await backend.close();
    },
  };
}
