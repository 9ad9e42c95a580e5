// In-process AccountStore: the embedded default, no Redis needed.
import { sameCredentials, type AccountStore, type StoredCredentials } from '../accounts.js';

export class MemoryAccountStore implements AccountStore {
  private readonly accounts = new Map<string, StoredCredentials>();

  async create(user: string, credentials: StoredCredentials): Promise<boolean> {
    if (this.accounts.has(user)) return false;
    this.accounts.set(user, credentials);
    return true;
  }

  async setCredentials(user: string, credentials: StoredCredentials): Promise<boolean> {
    if (!this.accounts.has(user)) return false;
    this.accounts.set(user, credentials);
    return true;
  }

  async replaceCredentials(user: string, expected: StoredCredentials, credentials: StoredCredentials): Promise<boolean> {
    const current = this.accounts.get(user);
    if (!current || !sameCredentials(current, expected)) return false;
    this.accounts.set(user, credentials);
    return true;
  }

  async credentials(user: string): Promise<StoredCredentials | undefined> {
    return this.accounts.get(user);
  }

  async exists(user: string): Promise<boolean> {
    return this.accounts.has(user);
  }

  async delete(user: string): Promise<boolean> {
    return this.accounts.delete(user);
  }

  async *list(): AsyncIterable<string> {
    yield* [...this.accounts.keys()];
  }

  async count(): Promise<number> {
    return this.accounts.size;
  }
}
