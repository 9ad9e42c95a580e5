// XEP-0060 §4.5 access models on a PEP node, and the errors for those they leave out (§6.5.9,
// §7.2.3): presence (a subscription from the owner), roster (in an allowed group), whitelist
// (named by the owner), open (anyone).
import type { Host } from '../../core/host.js';
import { hasFrom } from '../../core/roster.js';
import type { PepNodeConfig } from '../../state/pep.js';
import type { RosterItem } from '../../state/roster.js';
import type { StanzaError } from '../../xmpp/errors.js';
import { pubsubError } from './forms.js';

/** Whether `item` (the owner's roster item of the requester) lets the requester read. */
export function allows(config: PepNodeConfig, requester: string, item: RosterItem | undefined): boolean {
  switch (config.access_model) {
    case 'open':
      return true;
    case 'presence':
      return hasFrom(item);
    case 'roster':
      return item !== undefined && item.groups.some((group) => config.roster_groups_allowed.includes(group));
    case 'whitelist':
      return config.whitelist.includes(requester);
  }
}

/** The error for a requester the node's access model leaves out. */
export function refusal(config: PepNodeConfig): StanzaError {
  switch (config.access_model) {
    case 'presence':
      return pubsubError('not-authorized', 'presence-subscription-required');
    case 'roster':
      return pubsubError('not-authorized', 'not-in-roster-group');
    default:
      return pubsubError('not-allowed', 'closed-node');
  }
}

/** Throws the access model's error unless `requester` may read the owner's node. */
export async function checkAccess(host: Host, owner: string, requester: string, config: PepNodeConfig): Promise<void> {
  if (requester === owner || config.access_model === 'open') return;
  const item = config.access_model === 'whitelist' ? undefined : (await host.state.rosters.entry(owner, requester)).item;
  if (!allows(config, requester, item)) throw refusal(config);
}
