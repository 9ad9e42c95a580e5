// A dead node's resumable sessions are parked together (stream management claims them): what the
// dead node's inbox holds for them goes to their parked queues in order, ahead of what reaches
// the queues once their records are parked, in two scans of the inbox per batch of them, the
// second of which marks them moved there (senders with a stale cache are refused from then on). A scan per
// session costs the inbox's length times the sessions: at a few hundred sessions the sweep is
// slow enough for newer stanzas to overtake older ones.
import { parse } from 'ltx';
import type { BusEnvelope } from '../state/bus.js';
import type { Orphan, OrphanCollector } from './events.js';
import type { Host } from './host.js';
import { identify } from './stanza-identity.js';

/** Records parked at once (and inbox scans: one per batch), so that the registry is not hit by hundreds of writes at a time. */
const PARK_BATCH = 50;

export class OrphanBatch implements OrphanCollector {
  private readonly orphans = new Map<string, Orphan>();

  constructor(
    private readonly host: Host,
    private readonly node: string,
  ) {}

  add(orphan: Orphan): void {
    this.orphans.set(orphan.fullJid, orphan);
  }

  /**
   * Batch by batch: moves what the inbox holds for the orphans to their queues, parks their
   * records, then takes the inbox again for them and marks them moved, so that a sender whose
   * cache still names the dead node is refused from then on and finds the parked queue. Only a
   * stanza that reaches a parked queue between a record's parking and the second take can come
   * before an older one; batches keep that moment short.
   */
  async settle(): Promise<number> {
    const orphans = [...this.orphans.values()];
    let moved = 0;
    for (let i = 0; i < orphans.length; i += PARK_BATCH) {
      const batch = orphans.slice(i, i + PARK_BATCH);
      moved += await this.moveStranded(batch, false);
      await Promise.all(batch.map((orphan) => orphan.park()));
      moved += await this.moveStranded(batch, true);
    }
    return moved;
  }

  /** `mark`: the records are parked, so a refused sender finds the parked queue. */
  private async moveStranded(orphans: readonly Orphan[], mark: boolean): Promise<number> {
    const bus = this.host.bus;
    if (!bus) return 0;
    const byResource = new Map<string, BusEnvelope[]>();
    const resources = orphans.map((orphan) => ({ to: orphan.fullJid, ...(mark ? { sessionId: orphan.sessionId } : {}) }));
    for (const envelope of await bus.takeFor(this.node, resources)) {
      if (envelope.kind !== 'stanza') continue;
      const list = byResource.get(envelope.to) ?? [];
      list.push(envelope);
      byResource.set(envelope.to, list);
    }
    // One stream's stanzas in order; the streams side by side.
    const counts = await Promise.all([...byResource].map(([to, envelopes]) => {
      const orphan = this.orphans.get(to) as Orphan;
      return queueStranded(this.host, orphan.user, orphan.token, envelopes);
    }));
    return counts.reduce((sum, count) => sum + count, 0);
  }
}

/**
 * Appends stanza envelopes taken from a node's inbox to a parked stream's queue, in order; how
 * many it queued. One the store refuses (resumed meanwhile: the queue has a new owner) is routed
 * afresh, to where the resource is now. A message queued is held for its account (message-held:
 * its client may need waking), as one routed to the parked stream later is.
 */
export async function queueStranded(host: Host, user: string, token: string, envelopes: readonly BusEnvelope[]): Promise<number> {
  let queued = 0;
  for (const envelope of envelopes) {
    if (envelope.kind !== 'stanza') continue;
    const stanza = { seq: 0, xml: envelope.xml, stamp: envelope.at ?? Date.now(), ...(envelope.sid === undefined ? {} : { id: envelope.sid }) };
    if (await host.state.resumption.append(user, token, '', stanza)) {
      queued += 1;
      if (envelope.xml.startsWith('<message')) await host.hooks.fire('message-held', { user, stanza: parse(envelope.xml), place: 'parked' });
    } else {
      await host.router.send(identify(parse(envelope.xml), envelope.sid));
    }
  }
  return queued;
}
