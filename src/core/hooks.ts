// The event bus every feature module hooks into (after Prosody's util/events.lua).
// Handlers run in priority order (higher first); a handler returning true claims the event
// and stops it. A throwing handler is logged and skipped, never fatal.
import type { Logger } from '../log.js';

export type HookHandler<P> = (payload: P) => boolean | void | Promise<boolean | void>;

interface Registration<P> {
  handler: HookHandler<P>;
  priority: number;
  order: number;
}

export class HookBus<Catalogue extends object> {
  private readonly handlers = new Map<keyof Catalogue, Registration<never>[]>();
  private order = 0;

  constructor(private readonly log: Logger) {}

  /** Registers a handler; returns the function that removes it again. */
  on<K extends keyof Catalogue>(name: K, handler: HookHandler<Catalogue[K]>, priority = 0): () => void {
    const list = (this.handlers.get(name) ?? []) as Registration<Catalogue[K]>[];
    const registration: Registration<Catalogue[K]> = { handler, priority, order: this.order++ };
    list.push(registration);
    list.sort((a, b) => b.priority - a.priority || a.order - b.order);
    this.handlers.set(name, list as Registration<never>[]);
    return () => {
      const current = this.handlers.get(name) as Registration<Catalogue[K]>[] | undefined;
      const index = current?.indexOf(registration) ?? -1;
      if (current && index >= 0) current.splice(index, 1);
    };
  }

  has<K extends keyof Catalogue>(name: K): boolean {
    return (this.handlers.get(name)?.length ?? 0) > 0;
  }

  /** Runs synchronous handlers in order (stream features); promises are not awaited. */
  fireSync<K extends keyof Catalogue>(name: K, payload: Catalogue[K]): boolean {
    const list = this.handlers.get(name) as Registration<Catalogue[K]>[] | undefined;
    for (const { handler } of [...(list ?? [])]) {
      try {
        if (handler(payload) === true) return true;
      } catch (error) {
        this.log.error({ event: 'hook_failed', hook: String(name), err: error });
      }
    }
    return false;
  }

  /** Runs the handlers in order; true when one of them claimed the event. */
  async fire<K extends keyof Catalogue>(name: K, payload: Catalogue[K]): Promise<boolean> {
    const list = this.handlers.get(name) as Registration<Catalogue[K]>[] | undefined;
    if (!list) return false;
    for (const { handler } of [...list]) {
      try {
        if ((await handler(payload)) === true) return true;
      } catch (error) {
        this.log.error({ event: 'hook_failed', hook: String(name), err: error });
      }
    }
    return false;
  }
}
