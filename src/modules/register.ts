// XEP-0077 In-Band Registration (loaded only with allowRegistration): account creation before
// authentication (§3.1), and for a logged-in user, password change (§3.3) and removal (§3.2).
import { Element } from 'ltx';
import { AdminError, changePassword as setPassword, createAccount as addAccount, deleteAccount } from '../core/accounts.js';
import type { Host } from '../core/host.js';
import type { IqRequest } from '../core/iq.js';
import type { Module } from '../core/module.js';
import type { C2SSession } from '../core/session.js';
import type { Logger } from '../log.js';
import { StanzaError } from '../xmpp/errors.js';
import { JidError, prepLocalpart } from '../xmpp/jid.js';
import type { AttemptCounters } from '../state/attempts.js';
import { NS_REGISTER, NS_REGISTER_FEATURE } from '../xmpp/ns.js';
import { errorReply, iqPayload, iqResult, stanzaType } from '../xmpp/stanza.js';

/** Accounts one address may try to create per window (the XEP's security considerations ask for a limit). */
const REGISTRATIONS_PER_WINDOW = 5;
const WINDOW_MS = 60 * 60_000;

/** Registration attempts per remote address in a window, counted cluster-wide (AttemptCounters). */
export class RegistrationLimiter {
  constructor(
    private readonly counters: AttemptCounters,
    private readonly limit = REGISTRATIONS_PER_WINDOW,
    private readonly windowMs = WINDOW_MS,
  ) {}

  /** Records an attempt; false when the address has used up its window. */
  async take(address: string): Promise<boolean> {
    const [count] = await this.counters.add([`r:${address}`], this.windowMs);
    return (count ?? 0) <= this.limit;
  }
}

function registrationForm(): Element {
  const query = new Element('query', { xmlns: NS_REGISTER });
  query.c('instructions').t('Choose a username and password to register with this server.');
  query.c('username');
  query.c('password');
  return query;
}

function prepUsername(username: string): string {
  try {
    return prepLocalpart(username);
  } catch (error) {
    if (error instanceof JidError) throw new StanzaError('not-acceptable', 'The requested username is invalid');
    throw error;
  }
}

/** The stanza error for what the shared account code refused. */
function refusal(error: unknown): unknown {
  if (!(error instanceof AdminError)) return error;
  if (error.failure === 'exists') return new StanzaError('conflict', 'That username is taken');
  if (error.failure === 'invalid-password') return new StanzaError('not-acceptable', 'The password contains forbidden characters');
  if (error.failure === 'not-found') return new StanzaError('item-not-found');
  return new StanzaError('not-acceptable', 'The requested username is invalid');
}

/** §3.1: a new account from <username/> and <password/>. */
async function createAccount(host: Host, limiter: RegistrationLimiter, session: C2SSession, query: Element): Promise<void> {
  if (query.getChild('remove')) throw new StanzaError('not-authorized', 'Log in to remove an account');
  const username = query.getChildText('username');
  const password = query.getChildText('password');
  if (!username || !password) throw new StanzaError('not-acceptable', 'A username and a password are required');
  const user = `${prepUsername(username)}@${host.domain}`;
  // Counted before the key derivation, which is the expensive part.
  if (!(await limiter.take(session.conn.remoteAddress))) {
    host.telemetry.limitEnforced('registration_rate');
    throw new StanzaError('policy-violation', 'Too many registrations from your address; try again later', 'wait');
  }
  if (await host.state.accounts.exists(user)) throw new StanzaError('conflict', 'That username is taken');
  await addAccount(host.state, user, password).catch((error: unknown) => {
    throw refusal(error);
  });
  host.log.info({ event: 'account_registered', session: session.id });
}

/** A register iq before authentication; other stanzas are left for the stream to refuse. */
async function onUnauthenticated(host: Host, log: Logger, limiter: RegistrationLimiter, session: C2SSession, stanza: Element): Promise<boolean> {
  const type = stanzaType(stanza);
  const query = stanza.name === 'iq' ? iqPayload(stanza) : undefined;
  if ((type !== 'get' && type !== 'set') || query?.name !== 'query' || query.attrs.xmlns !== NS_REGISTER) return false;
  try {
    if (stanza.attrs.id === undefined) throw new StanzaError('bad-request', 'Missing IQ id');
    if (!session.conn.secure && !host.config.allowPlaintextAuth) throw new StanzaError('policy-violation', 'Encryption is required');
    if (type === 'get') {
      session.send(iqResult(stanza, registrationForm()));
    } else {
      await createAccount(host, limiter, session, query);
      session.send(iqResult(stanza));
    }
  } catch (error) {
    if (!(error instanceof StanzaError)) log.error({ event: 'registration_failed', session: session.id, err: error });
    session.send(errorReply(stanza, error instanceof StanzaError ? error : new StanzaError('internal-server-error')));
  }
  return true;
}

/** §3.2: the result goes first, then the sessions are closed and everything stored is deleted. */
async function removeAccount(host: Host, user: string, respond: () => void): Promise<void> {
  respond();
  await deleteAccount(host.state, user, host);
  host.log.info({ event: 'account_removed' });
}

/** §3.3: the new password applies at once; the user's other sessions must log in again. */
async function changePassword(host: Host, origin: C2SSession, query: Element): Promise<void> {
  const username = query.getChildText('username');
  const password = query.getChildText('password');
  if (!username || !password) throw new StanzaError('bad-request', 'A username and a password are required');
  if (prepUsername(username) !== origin.username) throw new StanzaError('bad-request', 'That is not your username');
  await setPassword(host.state, origin.bare_jid as string, password, host, origin).catch((error: unknown) => {
    throw refusal(error);
  });
}

async function onAuthenticatedSet(host: Host, { origin, payload, respond }: IqRequest): Promise<void> {
  if (!origin?.bare_jid) throw new StanzaError('service-unavailable');
  if (payload.getChild('remove')) return removeAccount(host, origin.bare_jid, respond);
  return changePassword(host, origin, payload);
}

export const registerModule: Module = {
  name: 'register',
  load(api) {
    const { host } = api;
    const limiter = new RegistrationLimiter(host.state.attempts);
    api.feature(NS_REGISTER);

    api.hook('stream-features', ({ session, features }) => {
      if (session.type === 'c2s_unauthed' && (session.conn.secure || host.config.allowPlaintextAuth)) {
        features.c('register', { xmlns: NS_REGISTER_FEATURE });
      }
    });
    api.hook('unauthenticated-stanza', ({ session, stanza }) => onUnauthenticated(host, api.log, limiter, session, stanza));

    api.iq('self', 'get', NS_REGISTER, 'query', ({ origin }) => {
      const query = new Element('query', { xmlns: NS_REGISTER });
      query.c('registered');
      if (origin?.username !== undefined) query.c('username').t(origin.username);
      return query;
    });
    api.iq('self', 'set', NS_REGISTER, 'query', (request) => onAuthenticatedSet(host, request));
  },
};
