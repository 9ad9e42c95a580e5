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
//   <p>:v1:{<bare>}:sm:<token>     hash   XEP-0198 stream record (owner, counters, detached_at)
//   <p>:v1:{<bare>}:smq:<token>    list   JSON {seq, xml, stamp, id?}: the stream's unacknowledged stanzas
//   <p>:v1:{<bare>}:smd:<token>    hash   sender stream token → '<high seq>:<mask>': what the stream was given
//   <p>:v1:node:{<node>}:sessions  set    JSON [full JID, session_id] per session the node owns (secondary index)
//   <p>:v1:node:{<node>}:inbox     stream stanza and kick envelopes for the node (consumer group "rookery")
//   <p>:v1:node:{<node>}:draining  string lock held by the one node taking a dead node's inbox (takeInbox)
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
  /** Offline entries no release could decode, kept for an operator rather than dropped. */
  offlineUnreadable(bare: string): string { return this.perAccount(bare, 'offline-unreadable'); }
  blocklist(bare: string): string { return this.perAccount(bare, 'blocklist'); }
  blocklistVersion(bare: string): string { return this.perAccount(bare, 'blockver'); }
  personal(bare: string): string { return this.perAccount(bare, 'personal'); }

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

  private perAccount(bare: string, kind: string): string {
    return `${this.base}:{${tagPart(bare, 'bare JID')}}:${kind}`;
  }
}

/** Encodes a hash-tag part; an empty tag ("{}") would hash the whole key and split an account across slots. */
function tagPart(part: string, what: string): string {
  if (part.length === 0) throw new RedisStateError('ROOKERY_REDIS_KEY', `An empty ${what} cannot be used in a Redis key`);
  return encodeKeyPart(part);
}
