// The account service, shared by the CLI, the admin API and in-band registration:
// creating, re-keying and deleting accounts, and what deleting means for the other stores.
import type { Host } from './host.js';
import { deriveCredentials } from '../sasl/credentials.js';
import type { StateBackend } from '../state/backend.js';
import { JidError, parseJid } from '../xmpp/jid.js';
import { AdminError } from './admin-error.js';

export { AdminError, type AdminFailure } from './admin-error.js';

/**
 * SCRAM iterations for new credentials where no configuration says otherwise (the default of
 * `scramIterations`; RFC 7677 asks at least 4096).
 */
export const SCRAM_ITERATIONS = 10_000;

/** `alice` or `alice@domain` → the prepared bare JID on this domain. */
export function accountJid(input: string, domain: string): string {
  let jid;
  try {
    jid = parseJid(input.includes('@') ? input : `${input}@${domain}`);
  } catch (error) {
    if (error instanceof JidError) throw new AdminError('invalid-jid', `not a valid account JID: ${input}`);
    throw error;
  }
  if (jid.local === '' || jid.resource !== '') throw new AdminError('invalid-jid', `not an account JID: ${input}`);
  if (jid.domain !== domain) throw new AdminError('wrong-domain', `this server serves ${domain}, not ${jid.domain}`);
  return jid.bare;
}

async function credentialsFor(password: string, iterations = SCRAM_ITERATIONS) {
  if (password.length === 0) throw new AdminError('invalid-password', 'the password is empty');
  try {
    return await deriveCredentials(password, iterations);
  } catch {
    throw new AdminError('invalid-password', 'the password contains characters SASLprep prohibits');
  }
}

export async function createAccount(state: StateBackend, user: string, password: string): Promise<void> {
  if (!(await state.accounts.create(user, await credentialsFor(password)))) throw new AdminError('exists', `${user} already exists`);
}

/** New credentials; the account's other sessions (all of them without `except`) are closed with <reset/>. */
export async function changePassword(state: StateBackend, user: string, password: string, host?: Host, except?: Parameters<Host['local']['closeAccount']>[3]): Promise<void> {
  if (!(await state.accounts.setCredentials(user, await credentialsFor(password, host?.config.scramIterations)))) throw new AdminError('not-found', `${user} does not exist`);
  // XEP-0484: a FAST token is as good as the old password; it goes with it.
  await state.fastTokens.deleteAll(user);
  await host?.local.closeAccount(user, 'reset', 'Password changed', except);
}

/** Deletes the account and everything stored for it; its sessions are closed with <not-authorized/>. */
export async function deleteAccount(state: StateBackend, user: string, host?: Host): Promise<void> {
  if (!(await state.accounts.exists(user))) throw new AdminError('not-found', `${user} does not exist`);
  if (host) {
    await host.local.closeAccount(user, 'not-authorized', 'Account deleted');
    // Contacts are told the subscriptions are gone (RFC 6121 §2.5.2), as for a removed item.
    const roster = await state.rosters.load(user);
    for (const contact of new Set([...roster.items.keys(), ...roster.pendingIn.keys()])) {
      await host.hooks.fire('roster-item-removed', { user, contact, item: roster.items.get(contact), pendingIn: roster.pendingIn.has(contact) });
    }
    await host.hooks.fire('user-deleted', { user });
  }
  await state.rosters.deleteAll(user);
  await state.offline.deleteAll(user);
  await state.blocklists.deleteAll(user);
  await state.personal.deleteAll(user);
  await state.archive.deleteAll(user);
  await state.pep.deleteAll(user);
  await state.fastTokens.deleteAll(user);
  await state.push.deleteAll(user);
  await state.accounts.delete(user);
}
