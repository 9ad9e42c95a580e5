// SharedSecrets of the embedded store: one file per secret in the data directory (mode 0600),
// created once and then read, so a restart keeps them.
import { randomBytes } from 'node:crypto';
import { link, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SecretName, SharedSecrets } from '../secrets.js';

export class DurableSharedSecrets implements SharedSecrets {
  private readonly cache = new Map<SecretName, Promise<Buffer>>();

  constructor(private readonly dataDir: string) {}

  obtain(name: SecretName): Promise<Buffer> {
    let secret = this.cache.get(name);
    if (!secret) {
      secret = this.readOrCreate(join(this.dataDir, `${name}-secret`));
      this.cache.set(name, secret);
      secret.catch(() => this.cache.delete(name));
    }
    return secret;
  }

  /** Written under a private name, then hard-linked into place: link() fails if the name exists. */
  private async readOrCreate(file: string): Promise<Buffer> {
    const existing = await readSecret(file);
    if (existing) return existing;
    const draft = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
    await writeFile(draft, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    try {
      await link(draft, file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      await unlink(draft).catch(() => undefined);
    }
    const secret = await readSecret(file);
    if (!secret) throw new Error(`${file} holds no secret: remove it and start again`);
    return secret;
  }
}

async function readSecret(file: string): Promise<Buffer | undefined> {
  try {
    const secret = Buffer.from((await readFile(file, 'utf8')).trim(), 'base64');
    return secret.length >= 32 ? secret : undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
