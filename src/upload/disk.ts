// Uploaded files in a directory: `<id>` holds the bytes and `<id>.meta` what the slot said. A PUT
// is written under a private name and linked into place once complete, so a GET never sees half
// a file and a second PUT of the same slot finds the name taken.
import { createReadStream, createWriteStream } from 'node:fs';
import { link, mkdir, readdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import type { FileStore, ReceiveResult, StoredFile } from './store.js';
import type { Slot } from './slot.js';

interface Meta {
  name: string;
  size: number;
  type: string;
  owner: string;
  stored: number;
}

const SLOT_ID = /^[A-Za-z0-9_-]{22}$/;

class TooLarge extends Error {}

export class DiskFileStore implements FileStore {
  readonly kind = 'disk' as const;
  private ready: Promise<unknown> | undefined;

  constructor(private readonly directory: string) {}

  private prepared(): Promise<unknown> {
    this.ready ??= mkdir(this.directory, { recursive: true, mode: 0o700 });
    return this.ready;
  }

  async putTarget(slot: Slot, ownUrl: string, token: string): Promise<{ url: string; headers: Record<string, string> }> {
    return { url: ownUrl, headers: { Authorization: `Bearer ${token}` } };
  }

  async receive(slot: Slot, body: Readable): Promise<ReceiveResult> {
    await this.prepared();
    const file = join(this.directory, slot.id);
    if (await exists(file)) return 'exists';
    const draft = `${file}.part-${randomBytes(6).toString('hex')}`;
    let received = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        received += chunk.length;
        if (received > slot.size) done(new TooLarge());
        else done(null, chunk);
      },
    });
    try {
      await pipeline(body, counter, createWriteStream(draft, { flags: 'wx', mode: 0o600 }));
      if (received !== slot.size) return 'size-mismatch';
      const meta: Meta = { name: slot.name, size: slot.size, type: slot.type, owner: slot.owner, stored: Date.now() };
      await writeFile(`${file}.meta`, JSON.stringify(meta), { mode: 0o600 });
      try {
        await link(draft, file);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') return 'exists';
        throw error;
      }
      return 'stored';
    } catch (error) {
      if (error instanceof TooLarge) return 'size-mismatch';
      throw error;
    } finally {
      await unlink(draft).catch(() => undefined);
    }
  }

  async fetch(id: string, name: string): Promise<{ file: StoredFile } | undefined> {
    if (!SLOT_ID.test(id)) return undefined;
    const meta = await readMeta(join(this.directory, `${id}.meta`));
    if (!meta || meta.name !== name) return undefined;
    const file = join(this.directory, id);
    if (!(await exists(file))) return undefined;
    return { file: { name: meta.name, size: meta.size, type: meta.type, body: createReadStream(file) } };
  }

  async expire(before: number): Promise<number> {
    await this.prepared();
    let removed = 0;
    for (const entry of await readdir(this.directory)) {
      const path = join(this.directory, entry);
      const info = await stat(path).catch(() => undefined);
      // Drafts of PUTs that died with their node go too, once old.
      if (!info?.isFile() || info.mtimeMs >= before) continue;
      await unlink(path).catch(() => undefined);
      if (SLOT_ID.test(entry)) removed++;
    }
    return removed;
  }
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}

async function readMeta(path: string): Promise<Meta | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Meta;
  } catch {
    return undefined;
  }
}
