// SessionRegistry on Redis.
//
// The authoritative data is one hash per account, <p>:v1:{<bare>}:sessions (full JID → JSON
// record); claim/update/release are single-key scripts on it. Two secondary indexes live in other
// Cluster slots and are updated by separate commands right after the script:
//   - <p>:v1:node:{<node>}:sessions holds JSON [full JID, session_id] per session of the node.
//     Members name one bind (not just the full JID) so that the late SREM of a replaced or released
//     session can never remove its successor's entry. A member may outlive its record for a moment
//     (or after a crash); byNode checks every member against the hash and removes stale ones.
//   - <p>:v1:count:sessions counts records: +1 when a claim created one, -1 when a release removed one.
// A claim sends both in the same round trip as its script (the counter goes back down when the
// claim replaced a record or was refused, so it may count one too many for that moment).
//
// On a single Redis (or Sentinel), each script also publishes the account's change notice after
// its write (publishesChanges): one round trip instead of two, and no notice can be lost between
// the write and its publication. On Redis Cluster notices go to a sharded channel, which a script
// on another slot cannot publish to, so the cache in front of this registry publishes them.
//
// Callers send reads right after a write on the account's slot (the initial presence, the roster
// get), relying on Redis running one connection's commands in order. ioredis sends a script's
// text on each connection's first use of it, so the write runs first; only a SCRIPT FLUSH under a
// live connection (NOSCRIPT, resent after the reads' replies) would let those reads miss it once.
// ioredis's enableAutoPipelining would break it: it holds commands back while a batch is in flight
// but sends a MULTI (the roster's read) at once, ahead of them.
import { Cluster } from 'ioredis';
import { bareOf } from '../../src/xmpp/jid-string.js';
import type { ClaimOutcome, ReassertOutcome, SessionPatch, SessionRecord, SessionRegistry } from '../../src/state/sessions.js';
import { encodeNotice } from './changes.js';
import { decodeIndexMember, decodeSession, encodeIndexMember, encodeSession } from './codec.js';
import { scanKeys, type RedisClient } from './connection.js';
import { RedisStateError } from './errors.js';
import type { KeyBuilder } from './keys.js';
import { asCount } from './multi.js';
import { integerReply, stringReply, type Scripts } from './scripts.js';

const PAGE = 200;

export class RedisSessionRegistry implements SessionRegistry {
  readonly publishesChanges: boolean;
  private readonly channel: string;

  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeyBuilder,
    private readonly scripts: Scripts,
  ) {
    this.publishesChanges = !(client instanceof Cluster);
    this.channel = keys.changesChannel();
  }

  async claim(record: SessionRecord): Promise<SessionRecord | undefined> {
    const outcome = await this.claimIf(record, '');
    if (!outcome.claimed) throw new RedisStateError('ROOKERY_REDIS_SCRIPT', 'session-claim-1 answered -1 without a limit, which it never does');
    return outcome.replaced;
  }

  claimWithin(record: SessionRecord, maxResources: number): Promise<ClaimOutcome> {
    return this.claimIf(record, String(Math.max(0, Math.floor(maxResources))));
  }

  async update(fullJid: string, sessionId: string, patch: SessionPatch): Promise<boolean> {
    const outcome = await this.scripts.run(
      'session-update-1',
      [this.keys.sessions(bareOf(fullJid))],
      [fullJid, sessionId, encodePatch(patch), ...this.notice(fullJid)],
    );
    return !outcome.rejected;
  }

  async release(fullJid: string, sessionId: string): Promise<boolean> {
    const key = this.keys.sessions(bareOf(fullJid));
    const outcome = await this.scripts.run('session-release-1', [key], [fullJid, sessionId, ...this.notice(fullJid)]);
    if (outcome.rejected) return false;
    const removedText = stringReply('session-release-1', outcome);
    const removed = removedText === undefined ? undefined : this.tryDecode(removedText, key);
    await Promise.all([
      ...(removed ? [this.client.srem(this.keys.nodeSessions(removed.node), encodeIndexMember(fullJid, sessionId))] : []),
      this.client.decr(this.keys.sessionCount()),
    ]);
    return true;
  }

  async reassert(record: SessionRecord): Promise<ReassertOutcome> {
    const key = this.keys.sessions(bareOf(record.full_jid));
    const outcome = await this.scripts.run('session-reassert-1', [key], [record.full_jid, encodeSession(record), record.session_id, ...this.notice(record.full_jid)]);
    if (outcome.rejected) return 'replaced';
    const written = integerReply('session-reassert-1', outcome) === 1;
    // The index entry may be gone even when the record was not (a partial loss): SADD is idempotent.
    await Promise.all([
      this.client.sadd(this.keys.nodeSessions(record.node), encodeIndexMember(record.full_jid, record.session_id)),
      ...(written ? [this.client.incr(this.keys.sessionCount())] : []),
    ]);
    return written ? 'written' : 'kept';
  }

  async get(fullJid: string): Promise<SessionRecord | undefined> {
    const key = this.keys.sessions(bareOf(fullJid));
    const text = await this.client.hget(key, fullJid);
    return text === null ? undefined : decodeSession(text, key);
  }

  async resources(bareJid: string): Promise<SessionRecord[]> {
    const key = this.keys.sessions(bareJid);
    return Object.values(await this.client.hgetall(key)).map((text) => decodeSession(text, key));
  }

  async *byNode(node: string): AsyncIterable<SessionRecord> {
    const indexKey = this.keys.nodeSessions(node);
    let cursor = '0';
    do {
      const [next, members] = await this.client.sscan(indexKey, cursor, 'COUNT', PAGE);
      cursor = next;
      const checked = await Promise.all(members.map(async (member) => ({ member, record: await this.indexed(node, member) })));
      const stale = checked.filter(({ record }) => record === undefined).map(({ member }) => member);
      if (stale.length > 0) await this.client.srem(indexKey, ...stale);
      for (const { record } of checked) if (record) yield record;
    } while (cursor !== '0');
  }

  async *all(): AsyncIterable<SessionRecord> {
    for await (const key of scanKeys(this.client, this.keys.sessionsPattern())) {
      if (this.keys.bareOf(key, 'sessions') === undefined) continue;
      let cursor = '0';
      do {
        const [next, flat] = await this.client.hscan(key, cursor, 'COUNT', PAGE);
        cursor = next;
        for (let i = 1; i < flat.length; i += 2) yield decodeSession(flat[i] ?? '', key);
      } while (cursor !== '0');
    }
  }

  async count(): Promise<number> {
    return Math.max(0, asCount(await this.client.get(this.keys.sessionCount())));
  }

  /**
   * session-claim-1 with the node index entry and the counter sent in the same round trip. The
   * index may name the record a moment before it exists: only a dead node's index is ever read
   * for cleaning up (byNode), and this node is alive while it claims.
   */
  private async claimIf(record: SessionRecord, limit: string): Promise<ClaimOutcome> {
    const key = this.keys.sessions(bareOf(record.full_jid));
    const member = encodeIndexMember(record.full_jid, record.session_id);
    const index = this.keys.nodeSessions(record.node);
    const [claimed, indexed, counted] = await Promise.allSettled([
      this.scripts.run('session-claim-1', [key], [record.full_jid, encodeSession(record), limit, ...this.notice(record.full_jid)]),
      this.client.sadd(index, member),
      this.client.incr(this.keys.sessionCount()),
    ]);
    if (claimed.status === 'rejected') {
      // Nothing was claimed: take back what went out with it.
      await Promise.allSettled([
        ...(indexed.status === 'fulfilled' ? [this.client.srem(index, member)] : []),
        ...(counted.status === 'fulfilled' ? [this.client.decr(this.keys.sessionCount())] : []),
      ]);
      throw claimed.reason;
    }
    if (indexed.status === 'rejected') throw indexed.reason;
    if (counted.status === 'rejected') throw counted.reason;
    const outcome = claimed.value;
    if (outcome.rejected) {
      await Promise.all([this.client.srem(index, member), this.client.decr(this.keys.sessionCount())]);
      return { claimed: false };
    }
    const replacedText = stringReply('session-claim-1', outcome);
    if (replacedText === undefined) return { claimed: true };
    // A record was there (counted already, even one that cannot be decoded): no new one is counted.
    const replaced = this.tryDecode(replacedText, key);
    const fixes: Promise<unknown>[] = [this.client.decr(this.keys.sessionCount())];
    if (replaced) {
      const replacedMember = encodeIndexMember(replaced.full_jid, replaced.session_id);
      if (replaced.node !== record.node || replacedMember !== member) fixes.push(this.client.srem(this.keys.nodeSessions(replaced.node), replacedMember));
    }
    await Promise.all(fixes);
    return replaced ? { claimed: true, replaced } : { claimed: true };
  }

  /** The change notice a script publishes after its write, where scripts may publish it. */
  private notice(fullJid: string): string[] {
    return this.publishesChanges ? [this.channel, encodeNotice(bareOf(fullJid), 'sessions')] : [];
  }

  /** The record an index member points at, if it is still that bind on that node. */
  private async indexed(node: string, member: string): Promise<SessionRecord | undefined> {
    const bind = decodeIndexMember(member);
    if (!bind) return undefined;
    const key = this.keys.sessions(bareOf(bind.fullJid));
    const text = await this.client.hget(key, bind.fullJid);
    const record = text === null ? undefined : this.tryDecode(text, key);
    return record && record.session_id === bind.sessionId && record.node === node ? record : undefined;
  }

  private tryDecode(text: string, key: string): SessionRecord | undefined {
    try {
      return decodeSession(text, key);
    } catch {
      return undefined;
    }
  }
}

/** Only the patchable fields; presence null is kept (it clears the presence). */
function encodePatch(patch: SessionPatch): string {
  return JSON.stringify({
    ...(patch.priority !== undefined ? { priority: patch.priority } : {}),
    ...(patch.interested !== undefined ? { interested: patch.interested } : {}),
    ...(patch.carbons !== undefined ? { carbons: patch.carbons } : {}),
    ...(patch.blocklist_interested !== undefined ? { blocklist_interested: patch.blocklist_interested } : {}),
    ...(patch.sm_token !== undefined ? { sm_token: patch.sm_token } : {}),
    ...(patch.presence !== undefined ? { presence: patch.presence } : {}),
  });
}
