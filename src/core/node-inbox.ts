// What a node does for the rest of the cluster: handle its inbox (stanzas for its sessions,
// kicks of replaced sessions) and clean up after a node that died.
import { parse } from 'ltx';
import type { NodeBus, NodeInbox } from '../state/bus.js';
import { StanzaError, StreamError } from '../xmpp/errors.js';
import type { GiveUp, Reroute } from './outage-buffer.js';
import { bareOf } from '../xmpp/jid-string.js';
import type { Host } from './host.js';
import { OrphanBatch } from './orphans.js';
import { identify } from './stanza-identity.js';

/** The inbox of this node: writes to local sessions, re-routes what it no longer holds. */
export function nodeInbox(host: Host): NodeInbox {
  return {
    async receive(envelope) {
      if (envelope.kind === 'kick') {
        // kickLocal finds the session by id, also while its bind is still under way.
        const error = envelope.condition ? new StreamError(envelope.condition, envelope.text) : undefined;
        await host.local.kickLocal(envelope.to, envelope.sessionId, error);
        return;
      }
      if (envelope.kind === 'takeover') {
        const session = host.local.byId(envelope.sessionId);
        if (session) await host.hooks.fire('stream-taken-over', { session });
        return;
      }
      host.telemetry.busEnvelope('in');
      if (envelope.kind === 'fanout') {
        await host.delivery.fanoutArrived(envelope.to, envelope.xml, envelope.sid);
        return;
      }
      if (envelope.at !== undefined) host.telemetry.crossNodeLatency(Math.max(0, Date.now() - envelope.at) / 1000);
      const local = host.local.get(envelope.to);
      if (local) {
        await host.delivery.writeLocal(local, envelope.xml, envelope.push, envelope.sid);
        return;
      }
      // The resource moved or is gone: route again from fresh state (RFC 6121 §8.5 fallbacks apply).
      await routeAgain(host)(envelope);
    },
  };
}

/** A stanza envelope whose resource is not where it was sent: routed again from fresh state. */
export function routeAgain(host: Host): Reroute {
  return async (envelope) => {
    if (envelope.kind !== 'stanza') return;
    host.state.registry.invalidate?.(bareOf(envelope.to));
    await host.router.send(identify(parse(envelope.xml), envelope.sid));
  };
}

/**
 * After a node died: its sessions leave the registry and their contacts see them go
 * unavailable; stanzas still in its inbox are routed again (to offline storage or a bounce).
 */
export async function cleanUpDeadNode(host: Host, bus: NodeBus, node: string): Promise<{ sessions: number; stanzas: number }> {
  let sessions = 0;
  const orphans = new OrphanBatch(host, node);
  for await (const record of host.state.registry.byNode(node)) {
    if (await host.hooks.fire('resource-orphaned', { record, orphans })) continue;
    if (!(await host.state.registry.release(record.full_jid, record.session_id))) continue;
    sessions += 1;
    await host.hooks.fire('resource-lost', { record, reason: 'Node failed' });
  }
  // Its components are gone with it: what was on its way to them bounces instead of returning there.
  const components = await host.state.components.releaseNode(node);
  const parked = await orphans.settle();
  if (parked > 0) host.log.info({ event: 'sm_stranded_parked', node, count: parked });
  const stanzas = await bus.takeInbox(node, nodeInbox(host));
  if (sessions + stanzas + components.length > 0) host.log.warn({ event: 'dead_node_cleaned', dead: node, sessions, stanzas, components: components.length });
  return { sessions, stanzas };
}

/**
 * An envelope that could not wait any longer for Redis: a stanza is bounced to its sender; a
 * kick or takeover notice is logged (the other node finds out from the registry when it checks).
 */
export function bouncePending(host: Host): GiveUp {
  return async (envelope, reason) => {
    if (envelope.kind !== 'stanza') {
      host.log.error({ event: 'bus_envelope_abandoned', kind: envelope.kind, reason });
      return;
    }
    const condition = reason === 'overflow' ? 'resource-constraint' : 'recipient-unavailable';
    await host.router.bounce(parse(envelope.xml), new StanzaError(condition, 'The cluster cannot reach that resource now'));
  };
}
