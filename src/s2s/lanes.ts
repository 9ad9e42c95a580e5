// The order the stanzas of one incoming stream are handled in (RFC 6120 §10.1): those of one
// sender one after the other, in the order received (incoming.ts keys senders by bare JID, so
// that a remote room's occupants keep the room's order); those of different senders at the same
// time, at most `limit` in all. A remote server sends all its users' traffic down one
// stream: handled strictly one at a time, each waiting for the store (a message's archive copy is
// written before it is delivered), the stream would go no faster than one store write after
// another, while a client's stream carries one user's traffic.
export class SenderLanes {
  /** The last task of each sender with work under way. */
  private readonly tails = new Map<string, Promise<void>>();
  private running = 0;
  private readonly slotWaiters: Array<() => void> = [];

  constructor(
    private readonly limit: number,
    /** A task that throws is reported here; its sender's next task runs anyway. */
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Queues `task` after the sender's earlier ones; resolves once it is admitted (within `limit`). */
  async submit(sender: string, task: () => Promise<void>): Promise<void> {
    while (this.running >= this.limit) await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
    this.running += 1;
    const previous = this.tails.get(sender) ?? Promise.resolve();
    const run: Promise<void> = previous
      .then(task)
      .catch(this.onError)
      .finally(() => {
        this.running -= 1;
        this.slotWaiters.shift()?.();
        if (this.tails.get(sender) === run) this.tails.delete(sender);
      });
    this.tails.set(sender, run);
  }

  /** Resolves once every task submitted so far is done. */
  async idle(): Promise<void> {
    while (this.tails.size > 0) await Promise.all([...this.tails.values()]);
  }

  /** Tasks admitted and not done. */
  get size(): number {
    return this.running;
  }
}
