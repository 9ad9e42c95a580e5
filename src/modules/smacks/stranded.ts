// What a dead node's inbox holds for the streams this node resumes from it. Each take scans the
// whole inbox, so when hundreds of its clients resume at once the takes are coalesced: while one
// scan for a node runs, the requests that come meanwhile wait and go together in the next one.
import type { BusEnvelope, NodeBus, TakenResource } from '../../state/bus.js';

interface Pending {
  resources: TakenResource[];
  settle: (result: Promise<BusEnvelope[]>) => void;
  result: Promise<BusEnvelope[]>;
}

function pending(): Pending {
  let settle!: (result: Promise<BusEnvelope[]>) => void;
  const result = new Promise<BusEnvelope[]>((resolve) => (settle = resolve));
  return { resources: [], settle, result };
}

export class StrandedTakes {
  private readonly waiting = new Map<string, Pending>();
  private readonly scanning = new Set<string>();

  constructor(private readonly bus: () => NodeBus | undefined) {}

  /** The stanza envelopes `node`'s inbox held for `resource`, in order, taken out of it (none without a bus). */
  async take(node: string, resource: TakenResource): Promise<BusEnvelope[]> {
    const bus = this.bus();
    if (!bus) return [];
    let next = this.waiting.get(node);
    if (!next) {
      next = pending();
      this.waiting.set(node, next);
    }
    next.resources.push(resource);
    if (!this.scanning.has(node)) void this.scan(bus, node);
    const taken = await next.result;
    return taken.filter((envelope) => envelope.kind === 'stanza' && envelope.to === resource.to);
  }

  private async scan(bus: NodeBus, node: string): Promise<void> {
    this.scanning.add(node);
    try {
      for (let next = this.waiting.get(node); next; next = this.waiting.get(node)) {
        this.waiting.delete(node);
        const result = bus.takeFor(node, next.resources);
        next.settle(result);
        await result.catch(() => undefined);
      }
    } finally {
      this.scanning.delete(node);
    }
  }
}
