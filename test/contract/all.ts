// Every contract suite, for one backend factory.
import { accountsContract } from './accounts.contract.js';
import { archiveContract } from './archive.contract.js';
import { attemptsContract } from './attempts.contract.js';
import { backendContract } from './backend.contract.js';
import { blocklistContract } from './blocklist.contract.js';
import type { BackendFactory } from './helpers.js';
import { mucContract } from './muc.contract.js';
import { fastTokensContract } from './fast-tokens.contract.js';
import { offlineContract } from './offline.contract.js';
import { pepContract } from './pep.contract.js';
import { personalContract } from './personal.contract.js';
import { resumptionContract } from './resumption.contract.js';
import { rosterContract } from './roster.contract.js';
import { secretsContract } from './secrets.contract.js';
import { sessionsContract } from './sessions.contract.js';
import { pushContract } from './push.contract.js';
import { componentsContract } from './components.contract.js';
import { remoteResourcesContract } from './remote-resources.contract.js';

export function allContracts(makeBackend: BackendFactory): void {
  backendContract(makeBackend);
  accountsContract(makeBackend);
  rosterContract(makeBackend);
  sessionsContract(makeBackend);
  offlineContract(makeBackend);
  blocklistContract(makeBackend);
  personalContract(makeBackend);
  archiveContract(makeBackend);
  pepContract(makeBackend);
  fastTokensContract(makeBackend);
  attemptsContract(makeBackend);
  resumptionContract(makeBackend);
  mucContract(makeBackend);
  secretsContract(makeBackend);
  pushContract(makeBackend);
  componentsContract(makeBackend);
  remoteResourcesContract(makeBackend);
}
