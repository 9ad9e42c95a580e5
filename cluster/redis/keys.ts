// Every Redis key name of the backend comes from here.
//
// Layout (prefix default 'rk', schema version 'v1'; <bare> and <node> are percent-encoded, see encodeKeyPart):
//   <p>:v1:{<bare>}:account        hash   "v" → "1", "SHA-1" / "SHA-256" → JSON ScramKeys
//   <p>:v1:{<bare>}:roster         hash   contact bare JID → encodeItem(item)
//   <p>:v1:{<bare>}:pending        hash   contact bare JID → pending inbound subscription stanza (XML)
//   <p>:v1:{<bare>}:rosterver      string roster version (INCR; absent = 0)
//   <p>:v1:{<bare>}:sessions       hash   full JID → JSON SessionRecord plus "v":1
//   <p>:v1:{<bare>}:offline        list   JSON {"v":1,"xml":…,"stamp":…}, oldest first
//   <p>:v1:{<bare>}:blocklist      set    blocked JIDs
//   <p>:v1:{<bare>}:blockver       string blocklist version (INCR per edit; absent = 0)
//   <p>:v1:{<bare>}:personal       hash   state/personal.ts key ('vcard', 'private <name> <ns>') → XML
//   <p>:v1:{<owner>}:mam          stream the message archive (state/archive.ts): entry id = archive id, fields w (with), x (XML)
//   <p>:v1:{<owner>}:mam:w:<with> stream the archive ids of one contact (field i, empty): the index of a `with` query
//   <p>:v1:{<owner>}:mam:withs    set    the contacts that have an index stream (to delete them all)
//   <p>:v1:{<owner>}:mam:seen:<b> hash   dedupe key → archive id, per dedupe-window time bucket b (expires after two windows)
//   <p>:v1:{<owner>}:mam:prefs    string JSON ArchivePrefs (XEP-0313 §6)
//   <p>:v1:{<bare>}:pep            hash   PEP node → JSON configuration (state/pep.ts)
//   <p>:v1:{<bare>}:pepmeta        hash   "seq" (publish counter), "bytes" (of all PEP items)
//   <p>:v1:{<bare>}:pepi:<node>    hash   PEP item id → XML (node percent-encoded)
//   <p>:v1:{<bare>}:pepo:<node>    zset   PEP item id by seq: publish order
//   <p>:v1:{<bare>}:pepsubs        hash   PEP node → JSON array of its explicit subscribers (XEP-0060 §6.1)
//   <p>:v1:{<bare>}:pepsubopts     hash   PEP node NUL subscriber → encodeSubscriptionOptions (XEP-0060 §6.3; absent: the defaults)
//   <p>:v1:{<bare>}:remotes        hash   full JID that sent the account presence (another server's, or ours by directed presence) → encodeKnown (state/remote-resources.ts), expires
//   <p>:v1:caps:{<ver>}            string JSON features of a XEP-0115 verification string (expires after 30 days)
//   <p>:v1:caps:{<ver>}:claim      string held (expiring) by the node resolving that ver
//   <p>:v1:{<bare>}:fast           hash   device (hash of a user-agent id) → JSON FAST tokens (XEP-0484), expires with the last
//   <p>:v1:{<bare>}:sm:<token>     hash   XEP-0198 stream record (owner, counters, detached_at)
//   <p>:v1:{<bare>}:smq:<token>    list   JSON {seq, xml, stamp, id?}: the stream's unacknowledged stanzas
//   <p>:v1:{<bare>}:smd:<token>    hash   sender stream token → '<high seq>:<mask>': what the stream was given
//   <p>:v1:{<bare>}:push           hash   "<app server jid>\n<node>" → JSON PushRegistration (XEP-0357)
//   <p>:v1:{<bare>}:push:ev:<id>   string a push event claimed (state/push.ts: once per event), expires
//   <p>:v1:{<bare>}:mucrooms       set    JSON [real full JID, room JID]: rooms the account's sessions are in (secondary index)
//   <p>:v1:room:{<room>}:state     hash   "v" → version of the room, "record" → JSON RoomRecord (state/muc.ts), "rv" → its SHA-1,
//                                         "vcard" → the room's vCard (XML; gone with the room's keys)
//   <p>:v1:{<room>}:mam            stream a room's message archive: the archive keys above with the room as owner (same slot as the room's keys)
//   <p>:v1:room:{<room>}:occupants hash   nick → JSON Occupant
//   <p>:v1:room:{<room>}:reals     hash   real full JID → JSON [nick, node] (kept by the scripts from occupants)
//   <p>:v1:room:{<room>}:history   list   JSON HistoryEntry, oldest first
//   <p>:v1:mucdir:{<domain>}:rooms zset   the domain's listed rooms (state/muc.ts `listed`), score 0: by JID (ZRANGEBYLEX)
//   <p>:v1:mucdir:{<domain>}:names hash   listed room JID → its name
//   <p>:v1:node:{<node>}:sessions  set    JSON [full JID, session_id] per session the node owns (secondary index)
//   <p>:v1:node:{<node>}:inbox     stream stanza and kick envelopes for the node (consumer group "rookery")
//   <p>:v1:node:{<node>}:draining  string lock held by the one node taking a dead node's inbox (takeInbox)
//   <p>:v1:node:{<node>}:moved     hash   full JID → session taken over from the node (bus-take-2; refused by bus-send-2; expires 10 min after the last take)
//   <p>:v1:components              hash   component domain → JSON {node, connection}: who holds it (XEP-0114)
//   <p>:v1:nodes                   zset   live node → last heartbeat (ms)
//   <p>:v1:evicted                 zset   evicted node → when (its inbox is taken again for a while)
//   <p>:v1:node:{<node>}:evicted   string set by the sweeper when it cleaned up after the node (expires)
//   <p>:v1:changes                 pub/sub channel of change notices (sharded on Redis Cluster)
//   <p>:v1:count:accounts          string number of accounts (secondary counter)
//   <p>:v1:count:sessions          string number of session records (secondary counter)
//   <p>:v1:deployment              string JSON {"format":1,"domains":[…]}: what this prefix serves (written once)
//   <p>:v1:secret:<name>           string base64 of 32 random bytes shared by every node (state/secrets.ts; written once)
//
// One account's keys share the hash tag {<bare>}, so they live in one Redis Cluster slot and one
// Lua script or MULTI may touch several of them. The node indexes and the counters live in
// other slots and are only ever updated by separate commands.
import { RedisStateError } from './errors.js';

export const SCHEMA_VERSION = 'v1';

/** Prefixes are restricted so they can neither open a hash tag nor act as a SCAN glob. */
const PREFIX_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;

/**
 * Makes a user-controlled string safe inside a key: '%', '{', '}' and ':' are percent-encoded,
 * so the result cannot close or open a hash tag nor fake a key segment, and distinct inputs stay
 * distinct (the encoding is injective because '%' itself is encoded).
 */
export function encodeKeyPart(part: string): string {
  return part.replace(/[%{}:]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Inverse of encodeKeyPart. */
export function decodeKeyPart(part: string): string {
  return part.replace(/%(25|7B|7D|3A)/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}

export class KeyBuilder {
  private readonly base: string;

  constructor(readonly prefix: string = 'rk') {
    if (!PREFIX_PATTERN.test(prefix)) {
      throw new RedisStateError('ROOKERY_REDIS_KEY', `Redis key prefix ${JSON.stringify(prefix)} must match ${PREFIX_PATTERN.source}`);
    }
    this.base = `${prefix}:${SCHEMA_VERSION}`;
  }

  account(bare: string): string { return this.perAccount(bare, 'account'); }
  roster(bare: string): string { return this.perAccount(bare, 'roster'); }
  pending(bare: string): string { return this.perAccount(bare, 'pending'); }
  rosterVersion(bare: string): string { return this.perAccount(bare, 'rosterver'); }
  sessions(bare: string): string { return this.perAccount(bare, 'sessions'); }
  offline(bare: string): string { return this.perAccount(bare, 'offline'); }
  /** The stanza identities of the offline messages held (state/offline.ts StoredMessage.id). */
  offlineIds(bare: string): string { return this.perAccount(bare, 'offline-ids'); }
  /** Offline entries no release could decode, kept for an operator rather than dropped. */
  offlineUnreadable(bare: string): string { return this.perAccount(bare, 'offline-unreadable'); }
  blocklist(bare: string): string { return this.perAccount(bare, 'blocklist'); }
  blocklistVersion(bare: string): string { return this.perAccount(bare, 'blockver'); }
  personal(bare: string): string { return this.perAccount(bare, 'personal'); }
  /** An archive owner (account or room) shares the account key space and its hash tag. */
  archive(owner: string): string { return this.perAccount(owner, 'mam'); }
  archiveWith(owner: string, contact: string): string { return this.perAccount(owner, `mam:w:${encodeKeyPart(contact)}`); }
  archiveContacts(owner: string): string { return this.perAccount(owner, 'mam:withs'); }
  /** Dedupe keys of one time bucket (stamp divided by the dedupe window). */
  archiveSeen(owner: string, bucket: number): string { return this.perAccount(owner, `mam:seen:${bucket}`); }
  archivePrefs(owner: string): string { return this.perAccount(owner, 'mam:prefs'); }
  pepNodes(bare: string): string { return this.perAccount(bare, 'pep'); }
  pepMeta(bare: string): string { return this.perAccount(bare, 'pepmeta'); }
  pepItems(bare: string, node: string): string { return this.perAccount(bare, `pepi:${encodeKeyPart(node)}`); }
  pepOrder(bare: string, node: string): string { return this.perAccount(bare, `pepo:${encodeKeyPart(node)}`); }
  pepSubscriptions(bare: string): string { return this.perAccount(bare, 'pepsubs'); }
  pepSubscriptionOptions(bare: string): string { return this.perAccount(bare, 'pepsubopts'); }
  remoteResources(bare: string): string { return this.perAccount(bare, 'remotes'); }
  /** A caps ver's features: shared by every account, so in a slot of its own. */
  caps(ver: string): string { return `${this.base}:caps:{${tagPart(ver, 'caps ver')}}`; }
  capsClaim(ver: string): string { return `${this.base}:caps:{${tagPart(ver, 'caps ver')}}:claim`; }
  /** XEP-0484 FAST tokens of the account's devices. */
  fastTokens(bare: string): string { return this.perAccount(bare, 'fast'); }

  /** XEP-0357 push registrations of the account. */
  pushRegistrations(bare: string): string { return this.perAccount(bare, 'push'); }
  /** A push event claimed for the account (the once-per-event rule). */
  pushEvent(bare: string, event: string): string { return this.perAccount(bare, `push:ev:${encodeKeyPart(event)}`); }
  /** External components (XEP-0114) and the node holding each: a handful of domains, one hash. */
  components(): string { return `${this.base}:components`; }

  /** Rooms (XEP-0045) the account's sessions are in. */
  mucRooms(bare: string): string { return this.perAccount(bare, 'mucrooms'); }
  /** One room's keys share the room's hash tag. */
  roomState(room: string): string { return this.perRoom(room, 'state'); }
  roomOccupants(room: string): string { return this.perRoom(room, 'occupants'); }
  roomReals(room: string): string { return this.perRoom(room, 'reals'); }
  roomHistory(room: string): string { return this.perRoom(room, 'history'); }
  /** A MUC domain's directory of listed rooms (XEP-0045 §6.3): one slot per domain, as the directory is read whole in order. */
  mucDirectory(domain: string): string { return `${this.base}:mucdir:{${tagPart(domain, 'MUC domain')}}:rooms`; }
  mucDirectoryNames(domain: string): string { return `${this.base}:mucdir:{${tagPart(domain, 'MUC domain')}}:names`; }
  /** SCAN MATCH pattern of every room's state hash. */
  roomPattern(): string { return `${this.base}:room:{*}:state`; }
  /** The room JID of a key roomPattern matched, else undefined. */
  roomOf(key: string): string | undefined {
    const head = `${this.base}:room:{`;
    const tail = '}:state';
    if (!key.startsWith(head) || !key.endsWith(tail) || key.length <= head.length + tail.length) return undefined;
    const inner = key.slice(head.length, key.length - tail.length);
    return /[{}:]/.test(inner) ? undefined : decodeKeyPart(inner);
  }

  /** The node's session index: a set of JSON [full JID, session_id]. */
  nodeSessions(node: string): string {
    return `${this.base}:node:{${tagPart(node, 'node name')}}:sessions`;
  }

  /** A managed stream's record (XEP-0198), under its account's hash tag. */
  smState(bare: string, token: string): string { return this.perAccount(bare, `sm:${encodeKeyPart(token)}`); }
  /** A managed stream's queue of unacknowledged stanzas. */
  smQueue(bare: string, token: string): string { return this.perAccount(bare, `smq:${encodeKeyPart(token)}`); }
  /** XEP-0198 stream: the stanza identities it was given (src/state/delivered.ts). */
  smDelivered(bare: string, token: string): string { return this.perAccount(bare, `smd:${encodeKeyPart(token)}`); }

  /** The node's inbox stream (at-least-once delivery between nodes). */
  nodeInbox(node: string): string {
    return `${this.base}:node:{${tagPart(node, 'node name')}}:inbox`;
  }

  /** Resources whose sessions were taken over from the node (bus-take-2): full JID → session id. */
  nodeMoved(node: string): string {
    return `${this.base}:node:{${tagPart(node, 'node name')}}:moved`;
  }

  /** Held by the one node taking a dead node's inbox (stored name `:draining`, kept: a wire format). */
  takeInboxLock(node: string): string {
    return `${this.base}:node:{${tagPart(node, 'node name')}}:draining`;
  }

  /** Set when a sweeper removed the node's sessions; a node that sees it closes its ghosts. */
  nodeEvicted(node: string): string {
    return `${this.base}:node:{${tagPart(node, 'node name')}}:evicted`;
  }

  /** Nodes a sweeper evicted, scored by when. */
  evictedNodes(): string { return `${this.base}:evicted`; }
  /** A counter of recent attempts (failed logins, registrations) for one address or account. */
  attempts(key: string): string { return `${this.base}:attempts:{${encodeKeyPart(key)}}`; }
  /** The deployment record: served domains and data format (see deployment.ts). */
  deployment(): string { return `${this.base}:deployment`; }
  /** A secret shared by every node (state/secrets.ts), created once. */
  secret(name: string): string { return `${this.base}:secret:${encodeKeyPart(name)}`; }
  /** A random value written once by the first node: when it changes or vanishes, Redis lost its data. */
  epoch(): string { return `${this.base}:epoch`; }
  /** Live nodes and their last heartbeat. */
  nodes(): string { return `${this.base}:nodes`; }
  /** The pub/sub channel of change notices. */
  changesChannel(): string { return `${this.base}:changes`; }
  /** BullMQ's own key prefix (its keys are named by BullMQ under it). */
  jobsPrefix(): string { return `${this.base}:jobs`; }

  accountCount(): string { return `${this.base}:count:accounts`; }
  sessionCount(): string { return `${this.base}:count:sessions`; }

  /** SCAN MATCH pattern of every account hash. */
  accountPattern(): string { return `${this.base}:{*}:account`; }
  /** SCAN MATCH pattern of every per-account sessions hash (the node indexes do not match). */
  sessionsPattern(): string { return `${this.base}:{*}:sessions`; }
  /** SCAN MATCH pattern of every key under this prefix and schema version. */
  everything(): string { return `${this.base}:*`; }

  /** The bare JID in a per-account key of this builder (`kind` = 'account', 'sessions', …), else undefined. */
  bareOf(key: string, kind: string): string | undefined {
    const head = `${this.base}:{`;
    const tail = `}:${kind}`;
    if (!key.startsWith(head) || !key.endsWith(tail) || key.length <= head.length + tail.length) return undefined;
    const inner = key.slice(head.length, key.length - tail.length);
    if (/[{}:]/.test(inner)) return undefined;
    return decodeKeyPart(inner);
  }

  private perRoom(room: string, kind: string): string {
    return `${this.base}:room:{${tagPart(room, 'room JID')}}:${kind}`;
  }

  private perAccount(bare: string, kind: string): string {
    return `${this.base}:{${tagPart(bare, 'bare JID')}}:${kind}`;
  }
}

/** Encodes a hash-tag part; an empty tag ("{}") would hash the whole key and split an account across slots. */
function tagPart(part: string, what: string): string {
  if (part.length === 0) throw new RedisStateError('ROOKERY_REDIS_KEY', `An empty ${what} cannot be used in a Redis key`);
  return encodeKeyPart(part);
}
