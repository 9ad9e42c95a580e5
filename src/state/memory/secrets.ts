// In-process SharedSecrets: random per process, which is every node of an in-process cluster.
import { randomBytes } from 'node:crypto';
import type { SecretName, SharedSecrets } from '../secrets.js';

export class MemorySharedSecrets implements SharedSecrets {
  private readonly secrets = new Map<SecretName, Buffer>();

  async obtain(name: SecretName): Promise<Buffer> {
    let secret = this.secrets.get(name);
    if (!secret) {
      secret = randomBytes(32);
      this.secrets.set(name, secret);
    }
    return secret;
  }
}
