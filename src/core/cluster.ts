// What a node does for the rest of the cluster: handle its inbox (stanzas for its sessions,
// kicks of replaced sessions) and clean up after a node that died.
import { parse } from 'ltx';
import type { NodeBus, NodeInbox } from '../state/bus.js';
import { Lru } from '../state/cached/lru.js';
import { bareOf } from '../xmpp/jid-string.js';
import type { Host } from './host.js';

/** Per host: ids of sessions kicked before they finished binding here. */
const earlyKicks = new WeakMap<Host, Lru<string, true>>();

/**
 * A kick can overtake the bind it is about: another node's claim replaced the record of a
 * session that has claimed it but is not yet registered locally, so kickLocal finds nothing and
 * both sessions would live on. Such kicks are kept and applied when that bind completes.
 */
function earlyKicksOf(host: Host): Lru<string, true> {
  const existing = earlyKicks.get(host);
  if (existing) return existing;
  const kicks = new Lru<string, true>(10_000);
  earlyKicks.set(host, kicks);
  host.hooks.on('resource-bind', async ({ session }) => {
    if (!kicks.get(session.id) || session.full_jid === undefined) return false;
    kicks.delete(session.id);
    host.log.info({ event: 'kick_after_bind', session: session.id });
    await host.sessions.kickLocal(session.full_jid, session.id);
    return true; // the session is gone: the other resource-bind handlers have nothing to do
  }, 100);
  return kicks;
}

/** The inbox of this node: writes to local sessions, re-routes what it no longer holds. */
export function nodeInbox(host: Host): NodeInbox {
  const kicks = earlyKicksOf(host);
  return {
    async receive(envelope) {
      if (envelope.kind === 'kick') {
        if (host.sessions.local(envelope.to)?.id === envelope.sessionId) await host.sessions.kickLocal(envelope.to, envelope.sessionId);
        else kicks.set(envelope.sessionId, true);
        return;
      }
      host.telemetry.busEnvelope('in');
      if (envelope.at !== undefined) host.telemetry.crossNodeLatency(Math.max(0, Date.now() - envelope.at) / 1000);
      const local = host.sessions.local(envelope.to);
      if (local) {
        local.send(envelope.xml);
        return;
      }
      // The resource moved or is gone: route again from fresh state (RFC 6121 §8.5 fallbacks apply).
      host.state.sessions.invalidate?.(bareOf(envelope.to));
      await host.router.send(parse(envelope.xml));
    },
  };
}

/**
 * After a node died: its sessions leave the registry and their contacts see them go
 * unavailable; stanzas still in its inbox are routed again (to offline storage or a bounce).
 */
export async function cleanUpDeadNode(host: Host, bus: NodeBus, node: string): Promise<{ sessions: number; stanzas: number }> {
  let sessions = 0;
  for await (const record of host.state.sessions.byNode(node)) {
    if (!(await host.state.sessions.release(record.full_jid, record.session_id))) continue;
    sessions += 1;
    await host.hooks.fire('resource-lost', { record, reason: 'Node failed' });
  }
  const stanzas = await bus.drain(node, nodeInbox(host));
  if (sessions + stanzas > 0) host.log.warn({ event: 'dead_node_cleaned', dead: node, sessions, stanzas });
  return { sessions, stanzas };
}
