// The durable embedded backend: accounts, rosters, offline messages and blocklists in a SQLite
// database in the data directory (database.ts), composed with the in-memory ports whose state
// means nothing after a restart:
// - sessions: their sockets are gone with the process;
// - XEP-0198 resumption state: a resumed stream needs the old socket's queue, which is gone too
//   (a client whose resumption fails binds a new session, as after any server restart);
// - login and registration attempt counters: they expire within minutes, and writing each
//   failed login to disk would hand a password guesser an fsync per attempt;
// - XEP-0115 caps: relearnt with one disco#info per ver;
// - remote contacts' resources (PEP interest): relearnt from their next presence or probe answer;
// - which node holds an external component (XEP-0114): its connection ends with the process.
import type { StateBackend } from '../backend.js';
import { MemoryAttemptCounters } from '../memory/attempts.js';
import { MemoryRemoteResourceStore } from '../memory/remote-resources.js';
import { MemoryCapsStore } from '../memory/caps.js';
import { MemorySessionRegistry } from '../memory/sessions.js';
import { MemoryResumptionStore } from '../memory/resumption.js';
import { DurableArchiveStore } from './archive.js';
import { MemoryMucStore } from '../memory/muc.js';
import { DurableAccountStore } from './accounts.js';
import { DurableBlocklistStore } from './blocklist.js';
import { openDataDir } from './database.js';
import { DurableRoomRecords } from './muc.js';
import { DurableOfflineStore } from './offline.js';
import { DurablePepStore } from './pep.js';
import { DurablePersonalStore } from './personal.js';
import { DurableFastTokenStore } from './fast-tokens.js';
import { DurableRosterStore } from './roster.js';
import { DurableSharedSecrets } from './secrets.js';
import { DurablePushStore } from './push.js';
import { MemoryComponentRegistry } from '../memory/components.js';

export { DATA_FORMAT, DB_FILE, FORMAT_FILE } from './database.js';

/** Opens or creates the store in `dataDir`; throws DataDirError (one line) when it cannot. */
export function createDurableBackend(dataDir: string): StateBackend {
  const dir = openDataDir(dataDir);
  let closing: Promise<void> | undefined;
  const rosters = new DurableRosterStore(dir);
  return {
    kind: 'durable',
    accounts: new DurableAccountStore(dir),
    rosters,
    offline: new DurableOfflineStore(dir),
    blocklists: new DurableBlocklistStore(dir),
    personal: new DurablePersonalStore(dir),
    archive: new DurableArchiveStore(dir, async (owner, contact) => (await rosters.entry(owner, contact)).item !== undefined),
    muc: new MemoryMucStore(new DurableRoomRecords(dir)),
    pep: new DurablePepStore(dir),
    // Caps are learnt again after a restart (one disco#info per ver): not worth a table.
    caps: new MemoryCapsStore(),
    remoteResources: new MemoryRemoteResourceStore(),
    fastTokens: new DurableFastTokenStore(dir),
    push: new DurablePushStore(dir),
    // Component connections end with the process, as sessions do.
    components: new MemoryComponentRegistry(),
    registry: new MemorySessionRegistry(),
    resumption: new MemoryResumptionStore(),
    attempts: new MemoryAttemptCounters(),
    secrets: new DurableSharedSecrets(dataDir),
    close() {
      closing ??= dir.close();
      return closing;
    },
  };
}
