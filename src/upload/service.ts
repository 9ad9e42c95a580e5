// HTTP upload (XEP-0363) as a service of the node: slots issued to accounts within their limits,
// the store the files go to, and the expiry sweep. Stateless between nodes: a slot is signed
// with a secret every node shares (state.secrets) and files live in a store every node sees.
import { join } from 'node:path';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { StateBackend } from '../state/backend.js';
import { DiskFileStore } from './disk.js';
import type { FileStore } from './store.js';
import { newSlotId, safeFileName, signSlot, SLOT_LIFETIME_MS, type Slot, verifySlot } from './slot.js';

/** A refused slot request, as XEP-0363 §5 names it. */
export class UploadRefusal extends Error {
  constructor(
    readonly condition: 'not-acceptable' | 'resource-constraint' | 'bad-request',
    text: string,
    /** For `<file-too-large/>`. */
    readonly maxFileBytes?: number,
  ) {
    super(text);
  }
}

export interface SlotOffer {
  put: { url: string; headers: Record<string, string> };
  get: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** How often each node sweeps expired files (idempotent, so every node may). */
const SWEEP_EVERY_MS = 60 * 60 * 1000;

export class UploadService {
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    readonly store: FileStore,
    private readonly secret: Buffer,
    private readonly state: StateBackend,
    private readonly config: Config,
    private readonly log: Logger,
    /** The HTTP port's public base URL (known once it listens). */
    private readonly baseUrl: () => string,
  ) {}

  get maxFileBytes(): number {
    return this.config.limits.uploadMaxFileBytes;
  }

  /** The URL of a stored file (GET) and of its PUT on this service. */
  fileUrl(id: string, name: string): string {
    return `${this.baseUrl().replace(/\/+$/, '')}/upload/${id}/${encodeURIComponent(name)}`;
  }

  async requestSlot(owner: string, request: { filename: string; size: number; type: string }): Promise<SlotOffer> {
    const name = safeFileName(request.filename);
    if (!name) throw new UploadRefusal('bad-request', 'The file name is empty or not usable');
    if (!Number.isSafeInteger(request.size) || request.size < 0) throw new UploadRefusal('bad-request', 'The size must be a number of bytes');
    if (request.size > this.maxFileBytes) throw new UploadRefusal('not-acceptable', `File too large: at most ${this.maxFileBytes} bytes`, this.maxFileBytes);
    const quota = this.config.limits.uploadDailyQuotaBytes;
    if (quota > 0) {
      const day = Math.floor(Date.now() / DAY_MS);
      const [used = 0] = await this.state.attempts.add([`upload:${owner}:${day}`], 2 * DAY_MS, request.size);
      if (used > quota) {
        await this.state.attempts.add([`upload:${owner}:${day}`], 2 * DAY_MS, -request.size);
        throw new UploadRefusal('resource-constraint', `Daily upload quota of ${quota} bytes reached`);
      }
    }
    const slot: Slot = { id: newSlotId(), name, size: request.size, type: request.type, owner, expires: Date.now() + SLOT_LIFETIME_MS };
    const url = this.fileUrl(slot.id, slot.name);
    const put = await this.store.putTarget(slot, url, signSlot(this.secret, slot));
    this.log.info({ event: 'upload_slot', jid: owner, slot: slot.id, size: slot.size, store: this.store.kind });
    return { put, get: url };
  }

  /** The slot an Authorization header grants for the PUT of `id`/`name`, if it does. */
  slotFor(authorization: string | undefined, id: string, name: string): Slot | undefined {
    const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
    const slot = token ? verifySlot(this.secret, token) : undefined;
    return slot && slot.id === id && slot.name === name ? slot : undefined;
  }

  startSweeping(): void {
    if (this.config.uploadExpiryDays === 0 || this.sweeper) return;
    const sweep = (): void => {
      const before = Date.now() - this.config.uploadExpiryDays * DAY_MS;
      this.store.expire(before).then(
        (removed) => { if (removed > 0) this.log.info({ event: 'upload_expired', files: removed }); },
        (err: unknown) => this.log.warn({ event: 'upload_expiry_failed', err }),
      );
    };
    sweep();
    this.sweeper = setInterval(sweep, SWEEP_EVERY_MS);
    this.sweeper.unref();
  }

  close(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
    (this.store as { close?: () => void }).close?.();
  }
}

/** Which store `uploadStore` names (`auto` resolved as documented); undefined when upload is off. */
export function chosenStore(config: Config): 'disk' | 's3' | undefined {
  if (config.uploadStore === 'off') return undefined;
  if (config.uploadStore !== 'auto') return config.uploadStore;
  if (config.uploadS3Bucket !== undefined) return 's3';
  if (config.uploadDirectory !== undefined || config.redisUrl === undefined) return 'disk';
  return undefined;
}

export async function openUpload(config: Config, state: StateBackend, log: Logger, baseUrl: () => string): Promise<UploadService | undefined> {
  const kind = chosenStore(config);
  if (kind === undefined) {
    if (config.uploadStore === 'auto') log.info({ event: 'upload_off', reason: 'a cluster needs uploadDirectory on a volume every node shares, or uploadS3Bucket' });
    return undefined;
  }
  let store: FileStore;
  if (kind === 's3') {
    if (config.uploadS3Bucket === undefined) throw new Error('uploadStore is s3 but uploadS3Bucket (ROOKERY_UPLOAD_S3_BUCKET) is not set');
    // Loaded only here: the AWS SDK is large and most nodes do not use it.
    const { S3FileStore } = await import('./s3.js');
    store = new S3FileStore({ bucket: config.uploadS3Bucket, region: config.uploadS3Region, pathStyle: config.uploadS3PathStyle, ...(config.uploadS3Endpoint ? { endpoint: config.uploadS3Endpoint } : {}) });
  } else {
    store = new DiskFileStore(config.uploadDirectory ?? join(config.dataDir, 'uploads'));
  }
  return new UploadService(store, await state.secrets.obtain('upload'), state, config, log, baseUrl);
}
