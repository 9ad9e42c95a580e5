// The in-process state backend: everything in this process, nothing persisted. Tests use it;
// a node without Redis uses state/durable/, which takes the session ports from here.
import type { StateBackend } from '../backend.js';
import { MemoryAccountStore } from './accounts.js';
import { MemoryArchiveStore } from './archive.js';
import { MemoryAttemptCounters } from './attempts.js';
import { MemoryBlocklistStore } from './blocklist.js';
import { MemoryMucStore } from './muc.js';
import { MemoryRemoteResourceStore } from './remote-resources.js';
import { MemoryCapsStore } from './caps.js';
import { MemoryOfflineStore } from './offline.js';
import { MemoryPepStore } from './pep.js';
import { MemoryPersonalStore } from './personal.js';
import { MemoryFastTokenStore } from './fast-tokens.js';
import { MemoryRosterStore } from './roster.js';
import { MemorySessionRegistry } from './sessions.js';
import { MemoryResumptionStore } from './resumption.js';
import { MemorySharedSecrets } from './secrets.js';
import { MemoryComponentRegistry } from './components.js';
import { MemoryPushStore } from './push.js';

export function createMemoryBackend(): StateBackend {
  const rosters = new MemoryRosterStore();
  return {
    kind: 'memory',
    accounts: new MemoryAccountStore(),
    rosters,
    registry: new MemorySessionRegistry(),
    offline: new MemoryOfflineStore(),
    blocklists: new MemoryBlocklistStore(),
    personal: new MemoryPersonalStore(),
    archive: new MemoryArchiveStore(async (owner, contact) => (await rosters.entry(owner, contact)).item !== undefined),
    muc: new MemoryMucStore(),
    pep: new MemoryPepStore(),
    caps: new MemoryCapsStore(),
    remoteResources: new MemoryRemoteResourceStore(),
    fastTokens: new MemoryFastTokenStore(),
    push: new MemoryPushStore(),
    components: new MemoryComponentRegistry(),
    resumption: new MemoryResumptionStore(),
    attempts: new MemoryAttemptCounters(),
    secrets: new MemorySharedSecrets(),
    close: async () => {},
  };
}
