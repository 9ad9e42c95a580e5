// The state backend: one implementation of every port, chosen by the composition root.
import type { AccountStore } from './accounts.js';
import type { ArchiveStore } from './archive.js';
import type { AttemptCounters } from './attempts.js';
import type { BlocklistStore } from './blocklist.js';
import type { MucStore } from './muc.js';
import type { CapsStore } from './caps.js';
import type { RemoteResourceStore } from './remote-resources.js';
import type { OfflineStore } from './offline.js';
import type { PepStore } from './pep.js';
import type { PersonalStore } from './personal.js';
import type { FastTokenStore } from './fast-tokens.js';
import type { RosterStore } from './roster.js';
import type { SessionRegistry } from './sessions.js';
import type { ResumptionStore } from './resumption.js';
import type { SharedSecrets } from './secrets.js';
import type { ComponentRegistry } from './components.js';
import type { PushStore } from './push.js';

export interface StateBackend {
  /** 'memory', 'durable' or 'redis', for logs and metrics labels. */
  readonly kind: string;
  readonly accounts: AccountStore;
  readonly rosters: RosterStore;
  readonly registry: SessionRegistry;
  readonly offline: OfflineStore;
  readonly blocklists: BlocklistStore;
  /** vCards and private XML (XEP-0054, XEP-0049). */
  readonly personal: PersonalStore;
  /** Message archives (XEP-0313), of accounts and rooms. */
  readonly archive: ArchiveStore;
  /** Group chat rooms (XEP-0045). */
  readonly muc: MucStore;
  /** PEP nodes and items (XEP-0163). */
  readonly pep: PepStore;
  /** XEP-0115 caps features by verification string. */
  readonly caps: CapsStore;
  /** Other servers' users' resources, as each account hears their presence (PEP interest). */
  readonly remoteResources: RemoteResourceStore;
  /** XEP-0484 FAST tokens. */
  readonly fastTokens: FastTokenStore;
  /** XEP-0357 push registrations, and the once-per-event claim of a push. */
  readonly push: PushStore;
  /** XEP-0114 external components: which node holds each component's connection. */
  readonly components: ComponentRegistry;
  /** XEP-0198 resumption state. */
  readonly resumption: ResumptionStore;
  /** Login failures and registrations per address and account, for the throttles. */
  readonly attempts: AttemptCounters;
  /** Secrets every node shares (the upload slots' signing key, the TLS ticket keys' origin). */
  readonly secrets: SharedSecrets;
  /**
   * false while the shared store cannot be reached (Redis down or failing over): logins are
   * refused at once with a temporary error instead of waiting for it. Absent: always reachable.
   */
  reachable?(): boolean;
  /** Idempotent; closes connections in reverse order of opening. */
  close(): Promise<void>;
}
