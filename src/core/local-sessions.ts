// This node's sessions (the local half): binding and destroying them (RFC 6120 §7; after
// Prosody's core/sessionmanager.lua). The cluster-wide records are `host.state.registry`.
// Local maps hold this node's sockets; the SessionRegistry holds every node's records.
import { randomBytes } from 'node:crypto';
import { StanzaError, StreamError } from '../xmpp/errors.js';
import { JidError, prepResource } from '../xmpp/jid.js';
import { PARKED_NODE, type ReassertOutcome, type SessionPatch, type SessionRecord } from '../state/sessions.js';
import { newEnvelopeId } from './envelope-id.js';
import type { CoreServices } from './services.js';
import type { C2SSession } from './session.js';

export class LocalSessions {
  /** Connected resources owned by this node, by full JID. */
  private readonly fullSessions = new Map<string, C2SSession>();
  /** This node's connected resources of each account, by bare JID. */
  private readonly bareSessions = new Map<string, Set<C2SSession>>();
  /** Sessions from the start of their bind on, by id: a kick may arrive before the bind completes. */
  private readonly bySessionId = new Map<string, C2SSession>();

  constructor(private readonly host: CoreServices) {}

  get(fullJid: string): C2SSession | undefined {
    return this.fullSessions.get(fullJid);
  }

  ofAccount(bareJid: string): C2SSession[] {
    return [...(this.bareSessions.get(bareJid) ?? [])];
  }

  all(): IterableIterator<C2SSession> {
    return this.fullSessions.values();
  }

  get count(): number {
    return this.fullSessions.size;
  }

  /** Binds a resource (client-chosen or generated); a live session with the same full JID is replaced. */
  async bind(session: C2SSession, requested: string | undefined): Promise<string> {
    const bare = session.bare_jid;
    if (session.type !== 'c2s_unbound' || bare === undefined) throw new StanzaError('not-allowed', 'Cannot bind here');
    let resource: string;
    try {
      resource = requested === undefined || requested === '' ? randomResource() : prepResource(requested);
    } catch (error) {
      if (error instanceof JidError) throw new StanzaError('bad-request', 'Invalid resource');
      throw error;
    }
    const fullJid = `${bare}/${resource}`;
    const record: SessionRecord = {
      full_jid: fullJid,
      node: this.host.nodeId,
      session_id: session.id,
      priority: 0,
      interested: false,
      carbons: false,
      blocklist_interested: false,
    };
    this.bySessionId.set(session.id, session);
    // What modules read for the session's first stanzas goes out with the claim (one round trip).
    await this.host.hooks.fire('resource-binding', { session, fullJid });
    // RFC 6120 §7.6.2.1, checked by the claim itself; a bind that replaces one of the account's
    // own resources adds none. (The roster is read when the client asks for it or sends its
    // first presence, each right after its own write: a copy read here would be older.)
    const limit = this.host.config.limits.resourcesPerAccount;
    const claim = await this.host.state.registry.claimWithin(record, limit);
    if (!claim.claimed) {
      this.bySessionId.delete(session.id);
      this.host.telemetry.limitEnforced('resources_per_account');
      throw new StanzaError('resource-constraint', `An account may have at most ${limit} resources`, 'wait');
    }
    const replaced = claim.replaced;
    if (session.destroyed) {
      this.bySessionId.delete(session.id);
      // The connection ended while we were claiming: leave no record without a socket behind.
      await this.host.state.registry.release(fullJid, session.id);
      // The replaced session lost its record to this bind either way, so it must not stay a ghost.
      if (replaced) await this.kick(replaced);
      throw new StanzaError('internal-server-error', 'Connection closed during bind', 'wait');
    }
    session.resource = resource;
    session.full_jid = fullJid;
    session.type = 'c2s';
    if (replaced) await this.kick(replaced);
    this.enter(session);
    this.host.log.info({ event: 'resource_bound', session: session.id, replaced: replaced !== undefined });
    await this.host.hooks.fire('resource-bind', { session });
    return fullJid;
  }

  /** Mirrors a change of the session's shared half into the registry. */
  async patchRecord(session: C2SSession, patch: SessionPatch): Promise<void> {
    if (session.full_jid === undefined || session.destroyed) return;
    await this.host.state.registry.update(session.full_jid, session.id, patch);
  }

  /**
   * Ends a session once: leaves the registry, then resource-unbind (unavailable broadcast).
   * A pre-resource-unbind handler may veto it (stream management keeps the session resumable);
   * `clean` says the client closed its stream itself.
   */
  async destroy(session: C2SSession, error?: string, clean = false): Promise<void> {
    if (session.destroyed) return;
    if (session.full_jid !== undefined && (await this.host.hooks.fire('pre-resource-unbind', { session, clean, ...(error !== undefined ? { error } : {}) }))) return;
    if (session.destroyed) return;
    session.destroyed = true;
    this.bySessionId.delete(session.id);
    const fullJid = session.full_jid;
    if (fullJid === undefined) return;
    const bare = session.bare_jid as string;
    // Out of the local maps before the registry round trip: a destroyed session takes no more
    // stanzas, so one routed here meanwhile must find it gone (and fall back to offline storage)
    // rather than be handed to it and lost.
    if (this.fullSessions.get(fullJid) === session) this.fullSessions.delete(fullJid);
    const siblings = this.bareSessions.get(bare);
    siblings?.delete(session);
    if (siblings?.size === 0) this.bareSessions.delete(bare);
    try {
      await this.host.state.registry.release(fullJid, session.id);
    } catch (err) {
      this.host.log.error({ event: 'session_release_failed', session: session.id, err });
    }
    this.host.log.info({ event: 'resource_unbound', session: session.id, reason: error });
    await this.host.hooks.fire('resource-unbind', { session, ...(error !== undefined ? { error } : {}) });
  }

  /**
   * Drops a local session without any of the usual consequences (no registry change, no
   * unavailable presence): another node resumed its stream and now owns it.
   */
  forget(session: C2SSession): void {
    if (session.destroyed) return;
    session.destroyed = true;
    this.bySessionId.delete(session.id);
    const fullJid = session.full_jid;
    if (fullJid !== undefined && this.fullSessions.get(fullJid) === session) this.fullSessions.delete(fullJid);
    const bare = session.bare_jid;
    const siblings = bare === undefined ? undefined : this.bareSessions.get(bare);
    siblings?.delete(session);
    if (bare !== undefined && siblings?.size === 0) this.bareSessions.delete(bare);
  }

  /** Enters a connected resource in the local maps (at bind, or restored by XEP-0198 resumption). */
  enter(session: C2SSession): void {
    const fullJid = session.full_jid as string;
    const bare = session.bare_jid as string;
    this.bySessionId.set(session.id, session);
    this.fullSessions.set(fullJid, session);
    let siblings = this.bareSessions.get(bare);
    if (!siblings) {
      siblings = new Set();
      this.bareSessions.set(bare, siblings);
    }
    siblings.add(session);
  }

  /** A local session by its id (bound or binding). */
  byId(sessionId: string): C2SSession | undefined {
    return this.bySessionId.get(sessionId);
  }

  /**
   * The node is the source of truth for the sockets it holds: after the store lost data, each
   * local session's record is written back. One that a newer bind replaced meanwhile ends with
   * <conflict/>. Returns the sessions written back or kept.
   */
  async restore(): Promise<{ written: number; kept: number; replaced: number }> {
    const counts = { written: 0, kept: 0, replaced: 0 };
    const restored: C2SSession[] = [];
    for (const session of [...this.fullSessions.values()]) {
      if (session.destroyed) continue;
      let outcome: ReassertOutcome;
      try {
        outcome = await this.host.state.registry.reassert(this.recordOf(session));
      } catch (err) {
        this.host.log.error({ event: 'session_reassert_failed', session: session.id, err });
        continue;
      }
      counts[outcome] += 1;
      this.host.telemetry.sessionReasserted(outcome);
      if (outcome === 'replaced') {
        session.close(new StreamError('conflict', 'Replaced by new connection'));
        await this.destroy(session, 'Replaced by new connection');
      } else {
        restored.push(session);
      }
    }
    await this.host.hooks.fire('state-restored', { sessions: restored });
    this.host.log.warn({ event: 'sessions_restored', ...counts });
    return counts;
  }

  /** The shared half of a bound session, as this node sees it. */
  private recordOf(session: C2SSession): SessionRecord {
    return {
      full_jid: session.full_jid as string,
      node: this.host.nodeId,
      session_id: session.id,
      priority: session.priority,
      ...(session.presence ? { presence: session.presence.toString() } : {}),
      interested: session.interested,
      carbons: session.carbons,
      blocklist_interested: session.blocklist_interested,
    };
  }

  /**
   * Closes every session of an account (deleted account, changed password): this node's, those
   * of other nodes (through their inboxes), and parked ones (their resumption is cancelled).
   */
  async closeAccount(bareJid: string, condition: 'not-authorized' | 'reset', reason: string, except?: C2SSession): Promise<void> {
    const error = new StreamError(condition, reason);
    for (const session of this.ofAccount(bareJid)) {
      if (session === except) continue;
      session.close(error);
      await this.destroy(session, reason);
    }
    for (const record of await this.host.state.registry.resources(bareJid, { fresh: true })) {
      if (record.node === this.host.nodeId || record.session_id === except?.id) continue;
      if (record.node === PARKED_NODE) {
        if (await this.host.state.registry.release(record.full_jid, record.session_id)) {
          if (record.sm_token !== undefined) await this.host.state.resumption.delete(bareJid, record.sm_token);
          await this.host.hooks.fire('resource-lost', { record, reason });
        }
        continue;
      }
      await this.host.bus?.send(record.node, {
        kind: 'kick', id: newEnvelopeId(), to: record.full_jid, sessionId: record.session_id,
        condition, text: reason,
      });
    }
  }

  /** Closes the session a newer bind replaced, here or on its node. */
  private async kick(replaced: SessionRecord): Promise<void> {
    if (replaced.node !== this.host.nodeId) {
      await this.host.bus?.send(replaced.node, { kind: 'kick', id: newEnvelopeId(), to: replaced.full_jid, sessionId: replaced.session_id });
      return;
    }
    await this.kickLocal(replaced.full_jid, replaced.session_id);
  }

  /** Closes a local session that a newer bind replaced, here or on another node. */
  async kickLocal(fullJid: string, sessionId: string, error = new StreamError('conflict', 'Replaced by new connection')): Promise<void> {
    const old = this.bySessionId.get(sessionId);
    if (!old || (old.full_jid !== undefined && old.full_jid !== fullJid)) return;
    old.close(error);
    await this.destroy(old, error.text ?? error.condition);
  }
}

function randomResource(): string {
  return randomBytes(9).toString('base64url');
}
