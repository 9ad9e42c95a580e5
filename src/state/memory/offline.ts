// In-process OfflineStore.
import type { OfflineStore, StoredMessage } from '../offline.js';

export class MemoryOfflineStore implements OfflineStore {
  private readonly queues = new Map<string, StoredMessage[]>();

  async store(user: string, message: StoredMessage, limit: number): Promise<boolean> {
    const queue = this.queues.get(user) ?? [];
    if (message.id !== undefined && queue.some((held) => held.id === message.id)) return true;
    if (queue.length >= limit) return false;
    queue.push(message);
    this.queues.set(user, queue);
    return true;
  }

  async takeAll(user: string): Promise<StoredMessage[]> {
    const queue = this.queues.get(user) ?? [];
    this.queues.delete(user);
    return queue;
  }

  async peek(user: string): Promise<StoredMessage[]> {
    return [...(this.queues.get(user) ?? [])];
  }

  async count(user: string): Promise<number> {
    return this.queues.get(user)?.length ?? 0;
  }

  async deleteAll(user: string): Promise<void> {
    this.queues.delete(user);
  }
}
