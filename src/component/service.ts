// External components on one node (XEP-0114; doc/components.md): the component port, the
// connections it holds, and the routing of stanzas for component domains from any node. The node
// holding a component's connection records it in the shared ComponentRegistry; every other node
// sends stanzas for that domain to it in one bus envelope each, and the holding node writes them
// to the socket (its inbox routes them again: they reach this service's hook there).
import { createServer, type Server } from 'node:net';
import type { Element } from 'ltx';
import { parseComponents } from '../config/types.js';
import type { RoutedStanza } from '../core/events.js';
import type { Host } from '../core/host.js';
import { newEnvelopeId } from '../core/envelope-id.js';
import type { ComponentHolder } from '../state/components.js';
import { StanzaError, StreamError } from '../xmpp/errors.js';
import type { Jid } from '../xmpp/jid.js';
import type { StanzaKind } from '../xmpp/kinds.js';
import { ComponentConnection, type ComponentContext } from './connection.js';

export class ComponentService {
  private readonly secrets: Map<string, string>;
  /** Authenticated connections of this node, by component domain. */
  private readonly serving = new Map<string, ComponentConnection>();
  private readonly connections = new Set<ComponentConnection>();
  /** Releases of closed connections' domains under way (close() waits for them). */
  private readonly releasing = new Set<Promise<void>>();
  private server: Server | undefined;
  private readonly removeHook: () => void;
  private readonly ctx: ComponentContext;

  constructor(private readonly host: Host) {
    this.secrets = parseComponents(host.config.components ?? '');
    for (const domain of this.secrets.keys()) host.services.set(domain, domain);
    // Before group chat: a component domain is never a room service's (the schema refuses that).
    this.removeHook = host.hooks.on('service-stanza', (routed) => this.toComponent(routed), 20);
    this.ctx = {
      secretOf: (domain) => this.secrets.get(domain),
      authenticated: (connection) => this.claim(connection),
      route: (stanza, kind, from, to) => this.fromComponent(stanza, kind, from, to),
      closed: (connection) => {
        const released = this.closed(connection);
        this.releasing.add(released);
        void released.finally(() => this.releasing.delete(released));
      },
      refused: () => host.telemetry.component('refused'),
      error: (err) => host.log.error({ event: 'component_stanza_failed', err }),
    };
  }

  /** This node's holds, as the registry spells them. */
  private holderOf(connection: ComponentConnection): ComponentHolder {
    return { node: this.host.nodeId, connection: connection.id };
  }

  /**
   * Takes the domain in the registry. A holder that is gone (a connection of this node that is
   * no longer open, or a node that is not alive) is replaced; a live one keeps it (Prosody's
   * default `kick_new`).
   */
  private async claim(connection: ComponentConnection): Promise<boolean> {
    const domain = connection.domain as string;
    const mine = this.holderOf(connection);
    let outcome = await this.host.state.components.claim(domain, mine);
    if (!outcome.claimed && (await this.gone(outcome.holder, domain))) outcome = await this.host.state.components.claim(domain, mine, outcome.holder);
    if (!outcome.claimed) {
      this.host.log.warn({ event: 'component_conflict', domain });
      return false;
    }
    this.serving.set(domain, connection);
    this.host.telemetry.component('connected');
    this.host.log.info({ event: 'component_connected', domain, connection: connection.id });
    return true;
  }

  private async gone(holder: ComponentHolder, domain: string): Promise<boolean> {
    if (holder.node === this.host.nodeId) return this.serving.get(domain)?.id !== holder.connection;
    if (!this.host.heartbeats) return false;
    return (await this.host.heartbeats.lastBeat(holder.node)) === undefined;
  }

  private async closed(connection: ComponentConnection): Promise<void> {
    this.connections.delete(connection);
    const domain = connection.domain;
    if (domain === undefined || this.serving.get(domain) !== connection) return;
    this.serving.delete(domain);
    this.host.log.info({ event: 'component_disconnected', domain, connection: connection.id });
    await this.host.state.components.release(domain, this.holderOf(connection)).catch((err: unknown) => this.host.log.error({ event: 'component_release_failed', domain, err }));
  }

  /** The `service-stanza` hook: a stanza for a component domain goes to the node holding it. */
  private async toComponent(routed: RoutedStanza): Promise<boolean> {
    const domain = routed.to.domain;
    if (!this.secrets.has(domain)) return false;
    const local = this.serving.get(domain);
    if (local?.ready) {
      this.host.telemetry.component('stanza_out');
      local.write(routed.stanza);
      return true;
    }
    const holder = await this.host.state.components.holder(domain);
    if (holder && holder.node !== this.host.nodeId && this.host.bus) {
      this.host.telemetry.component('forwarded');
      this.host.telemetry.busEnvelope('out');
      await this.host.bus.send(holder.node, { kind: 'stanza', id: newEnvelopeId(), to: routed.to.full, xml: routed.stanza.toString(), hops: 0, at: Date.now() });
      return true;
    }
    // As Prosody: a component that is not connected is a temporary condition.
    this.host.telemetry.component('bounce');
    await this.host.router.bounce(routed.stanza, new StanzaError('remote-server-timeout', 'Component unavailable', 'wait'), routed.origin);
    return true;
  }

  /** Its stanzas are routed like a remote server's: local accounts, other components, federation. */
  private async fromComponent(stanza: Element, kind: StanzaKind, from: Jid, to: Jid): Promise<void> {
    this.host.telemetry.component('stanza_in');
    await this.host.router.route({ stanza, kind, from, to });
  }

  async listen(port: number, address: string): Promise<number> {
    const server = createServer((socket) => {
      socket.setNoDelay(true);
      this.connections.add(new ComponentConnection(this.ctx, socket, this.host.config.limits));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, address, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    return this.port;
  }

  get port(): number {
    const bound = this.server?.address();
    return typeof bound === 'object' && bound ? bound.port : 0;
  }

  /** Domains this node's connections serve now (tests, operators). */
  domains(): string[] {
    return [...this.serving.keys()];
  }

  /** Stops listening and closes every component connection, releasing its domain. Idempotent. */
  async close(): Promise<void> {
    this.removeHook();
    this.server?.close();
    this.server = undefined;
    const open = [...this.connections];
    for (const connection of open) connection.close(new StreamError('system-shutdown'));
    await Promise.all([...this.releasing]);
    for (const domain of this.secrets.keys()) this.host.services.delete(domain);
  }
}
