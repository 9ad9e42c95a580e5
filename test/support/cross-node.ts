// What the 'cluster' kind of test server adds to a raw client: which node it is on, and a
// barrier that also covers stanzas still travelling between nodes.
import { randomBytes } from 'node:crypto';
import { escapeXML } from 'ltx';
import type { RookeryServer } from '../../src/server.js';
import { RawClient } from './client.js';

/**
 * Where each party goes: every distinct account (local part) gets a first node in order of
 * first login, alternating A, B, A, B…, and each further login of the same account takes the
 * next node after the previous one. So alice (A) and bob (B) talk across nodes, and bob's second
 * resource (A) sits beside alice while his first does not. Unbound connections alternate too.
 */
export class Placement {
  private readonly firstNode = new Map<string, number>();
  private readonly logins = new Map<string, number>();
  private connections = 0;

  constructor(private readonly nodes: number) {}

  forLogin(local: string): number {
    const account = local.toLowerCase();
    let first = this.firstNode.get(account);
    if (first === undefined) {
      first = this.firstNode.size % this.nodes;
      this.firstNode.set(account, first);
    }
    const count = this.logins.get(account) ?? 0;
    this.logins.set(account, count + 1);
    return (first + count) % this.nodes;
  }

  forConnection(): number {
    return this.connections++ % this.nodes;
  }
}

/**
 * A round trip to its own node (a ping) orders only what that node writes to the socket.
 * Stanzas from the other node travel through this node's inbox stream, which is handled in
 * order; so a marker appended to that stream after the round trip reaches the client only after
 * everything appended before it. Callers first barrier the senders, as on one node, so their
 * nodes have appended what they routed.
 *
 * Appends the marker for a bound client of `node` and returns its id; undefined where there is
 * no inbox (a single node) or nothing bound to address it to (the round trip is all it needs).
 */
export async function sendInboxMarker(node: RookeryServer, jid: string | undefined): Promise<string | undefined> {
  const bus = node.host.bus;
  if (!bus || jid === undefined) return undefined;
  const id = `settle-${randomBytes(6).toString('hex')}`;
  const marker = `<message from='${escapeXML(node.host.domain)}' to='${escapeXML(jid)}' type='headline' id='${id}'/>`;
  await bus.send(node.host.nodeId, { kind: 'stanza', id, to: jid, xml: marker, hops: 0 });
  return id;
}

/** Makes a raw client's barrier() wait for an inbox marker after its round trip. */
export function crossNodeBarrier(client: RawClient, node: RookeryServer): void {
  const roundTrip = RawClient.prototype.barrier;
  client.barrier = async function barrier(this: RawClient): Promise<void> {
    await roundTrip.call(this);
    const id = await sendInboxMarker(node, this.jid);
    if (id === undefined) return;
    const arrived = await this.expect((element) => element.name === 'message' && element.attrs.id === id);
    // The marker is the harness's, not the server's: ordering assertions read the log.
    const index = this.log.indexOf(arrived);
    if (index >= 0) this.log.splice(index, 1);
  };
}
