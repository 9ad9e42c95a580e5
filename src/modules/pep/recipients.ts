// Who gets an event of an account's node (XEP-0163 §4.3): each available resource of the account
// and of its contacts that the access model lets read and whose caps (XEP-0115) include
// NODE+notify; each resource that told the account its caps by presence the registry does not
// show (a remote contact's, or a contact's of ours by directed presence); and each explicit
// subscriber (XEP-0060 §6.1) that wants deliveries. Every resource once. This runs for every
// publish, so what a node caches (session records, caps) is read without a round trip, and what
// it must read from the store is read all at once.
import type { Host } from '../../core/host.js';
import { hasFrom } from '../../core/roster.js';
import type { KnownResource } from '../../state/remote-resources.js';
import type { PepNodeConfig, PepSubscriber } from '../../state/pep.js';
import type { RosterItem } from '../../state/roster.js';
import { REMOTE_NODE, type SessionRecord } from '../../state/sessions.js';
import { bareOf, domainOf } from '../../xmpp/jid-string.js';
import { type Jid, parseJid } from '../../xmpp/jid.js';
import { allows } from './access.js';
import type { ClientCaps } from './caps.js';

/** Where an event is written: a session of ours wherever it is, or a remote resource (REMOTE_NODE). */
export type Target = Pick<SessionRecord, 'full_jid' | 'node'>;

export interface Recipients {
  resources: Target[];
  /** Explicit subscribers of other servers, by the JID they subscribed with (sent through the router). */
  remote: string[];
  /** The resources and remote subscribers (by JID) whose subscription asked for a body (pubsub#include_body). */
  withBody: Set<string>;
}

/** Whether resources want NODE+notify: from this node's caps cache at once, from the store for a ver it lacks. */
class Interest {
  private readonly notify: string;

  constructor(
    private readonly caps: ClientCaps,
    node: string,
  ) {
    this.notify = `${node}+notify`;
  }

  async ver(ver: string): Promise<boolean> {
    const cached = this.caps.cached(ver);
    if (cached) return cached.has(this.notify);
    return (await this.caps.features(ver))?.has(this.notify) === true;
  }

  /** Whether the resource's last broadcast presence announces it; undefined when its ver is not cached here. */
  now(record: SessionRecord): boolean | undefined {
    if (record.presence === undefined) return false;
    const announced = this.caps.capsOf(record.presence);
    if (!announced) return false;
    return this.caps.cached(announced.ver)?.has(this.notify);
  }

  /** The same, reading the store for a ver this node has not cached. */
  async record(record: SessionRecord): Promise<boolean> {
    const announced = record.presence === undefined ? undefined : this.caps.capsOf(record.presence);
    return announced !== undefined && this.ver(announced.ver);
  }
}

/** What recipients() reads from the store: a publish starts reading it beside its own write (readAudience). */
export interface Audience {
  roster: ReadonlyMap<string, RosterItem>;
  known: Map<string, KnownResource>;
}

export async function readAudience(host: Host, owner: string): Promise<Audience> {
  const [roster, known] = await Promise.all([host.state.rosters.items(owner), host.state.remoteResources.list(owner)]);
  return { roster, known };
}

/** A directed presence of ours counts while the session that sent it lives (or its stream, resumed elsewhere). */
function sameSession(record: SessionRecord, session: NonNullable<KnownResource['session']>): boolean {
  return record.session_id === session.id || (session.token !== undefined && record.sm_token === session.token);
}

/** Whether `jid` (an explicit subscriber) may read the node: the owner, or whom the access model allows. */
function subscriberAllowed(owner: string, config: PepNodeConfig, jid: Jid, roster: ReadonlyMap<string, RosterItem> | undefined): boolean {
  return jid.bare === owner || allows(config, jid.bare, roster?.get(jid.bare));
}

function tryJid(text: string): Jid | undefined {
  try {
    return parseJid(text);
  } catch {
    return undefined;
  }
}

/**
 * The recipients of an event of `owner`'s `node`. A contact counts while the owner's roster gives
 * it a `from` subscription the access model allows (as Prosody's mod_pep asks of the presence it
 * counts); an explicit subscriber while the access model allows it (a roster change may have
 * taken that away): a full JID as that resource, a bare one as each available resource of
 * non-negative priority (RFC 6121 §8.5.2.1.1), a remote one through the router.
 */
export async function recipients(host: Host, caps: ClientCaps, owner: string, node: string, config: PepNodeConfig, subscribers: readonly PepSubscriber[] = [], audience?: Promise<Audience>): Promise<Recipients> {
  // A whitelist naming nobody is private (bookmarks): the owner's own resources only.
  const ownOnly = config.access_model === 'whitelist' && config.whitelist.length === 0;
  const [own, read] = await Promise.all([
    host.state.registry.resources(owner),
    ownOnly && subscribers.length === 0 ? undefined : (audience ?? readAudience(host, owner)),
  ]);
  const roster = read?.roster;
  const known = ownOnly ? undefined : read?.known;
  const interest = new Interest(caps, node);
  const chosen = new Map<string, Target>();
  // One synchronous pass over what this node holds (records, caps); only what it lacks is read,
  // all at once, and only a ver it has not cached waits for the store.
  const undecided: SessionRecord[] = [];
  const choose = (records: readonly Readonly<SessionRecord>[]): void => {
    for (const record of records) {
      const wanted = interest.now(record);
      if (wanted === undefined) undecided.push(record);
      else if (wanted) chosen.set(record.full_jid, record);
    }
  };
  choose(own);
  const contacts = new Set<string>();
  const remoteContacts = new Set<string>();
  const unread: string[] = [];
  if (!ownOnly && roster) {
    for (const item of roster.values()) {
      if (!hasFrom(item) || !allows(config, item.jid, item)) continue;
      if (domainOf(item.jid) !== host.domain) {
        remoteContacts.add(item.jid);
        continue;
      }
      contacts.add(item.jid);
      const held = host.state.registry.peek?.(item.jid);
      if (held) choose(held);
      else unread.push(item.jid);
    }
  }
  if (unread.length > 0) for (const records of await Promise.all(unread.map((contact) => host.state.registry.resources(contact)))) choose(records);
  for (const record of undecided) if (await interest.record(record)) chosen.set(record.full_jid, record);
  const stale: string[] = [];
  for (const [jid, entry] of known ?? []) {
    if (chosen.has(jid)) continue;
    if (entry.session === undefined) {
      if (remoteContacts.has(bareOf(jid)) && (await interest.ver(entry.ver))) chosen.set(jid, { full_jid: jid, node: REMOTE_NODE });
      continue;
    }
    if (!contacts.has(bareOf(jid))) continue;
    const record = await host.state.registry.get(jid);
    if (!record || !sameSession(record, entry.session)) stale.push(jid);
    else if (await interest.ver(entry.ver)) chosen.set(jid, record);
  }
  // A session that ended without a word to the account (its node died) is forgotten here.
  for (const jid of stale) void host.state.remoteResources.remove(owner, jid).catch((error: unknown) => host.log.warn({ event: 'pep_known_resource_remove_failed', err: error }));
  const remote: string[] = [];
  const withBody = new Set<string>();
  for (const { jid: subscriber, options } of subscribers) {
    const jid = tryJid(subscriber);
    if (!options.deliver || !jid || !subscriberAllowed(owner, config, jid, roster)) continue;
    if (jid.domain !== host.domain) {
      remote.push(jid.full);
      if (options.include_body) withBody.add(jid.full);
      continue;
    }
    for (const record of await host.state.registry.resources(jid.bare)) {
      const wanted = jid.isBare() ? record.presence !== undefined && record.priority >= 0 : record.full_jid === jid.full;
      if (!wanted) continue;
      chosen.set(record.full_jid, record);
      if (options.include_body) withBody.add(record.full_jid);
    }
  }
  return { resources: [...chosen.values()], remote, withBody };
}
