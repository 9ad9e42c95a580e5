// Uploaded files in an S3 bucket (AWS or any S3-compatible service). Clients PUT straight to the
// bucket with a presigned URL, so file bytes never pass through a node; a GET of the file's URL
// on any node redirects to a short-lived presigned GET. The object key is `<slot id>/<name>`.
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { FileStore } from './store.js';
import { SLOT_LIFETIME_MS, type Slot } from './slot.js';

export interface S3Settings {
  bucket: string;
  region: string;
  endpoint?: string;
  pathStyle: boolean;
}

/** How long a redirect to the bucket stays valid: long enough to start the download. */
const GET_URL_SECONDS = 300;

export class S3FileStore implements FileStore {
  readonly kind = 's3' as const;
  private readonly client: S3Client;

  constructor(private readonly settings: S3Settings) {
    this.client = new S3Client({
      region: settings.region,
      forcePathStyle: settings.pathStyle,
      // Otherwise the SDK signs a CRC32 of the empty body into every presigned PUT, and S3 then
      // refuses the client's real one.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    });
  }

  async putTarget(slot: Slot): Promise<{ url: string; headers: Record<string, string> }> {
    const command = new PutObjectCommand({
      Bucket: this.settings.bucket,
      Key: `${slot.id}/${slot.name}`,
      ContentLength: slot.size,
      ...(slot.type ? { ContentType: slot.type } : {}),
    });
    // The length and type are signed: the bucket refuses any other body.
    const url = await getSignedUrl(this.client, command, { expiresIn: SLOT_LIFETIME_MS / 1000, signableHeaders: new Set(['content-length', 'content-type']) });
    return { url, headers: slot.type ? { 'Content-Type': slot.type } : {} };
  }

  async fetch(id: string, name: string): Promise<{ redirect: string }> {
    const command = new GetObjectCommand({ Bucket: this.settings.bucket, Key: `${id}/${name}` });
    return { redirect: await getSignedUrl(this.client, command, { expiresIn: GET_URL_SECONDS }) };
  }

  async expire(before: number): Promise<number> {
    let removed = 0;
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.settings.bucket, ...(token ? { ContinuationToken: token } : {}) }));
      const old = (page.Contents ?? []).filter((object) => object.Key && object.LastModified && object.LastModified.getTime() < before);
      if (old.length > 0) {
        await this.client.send(new DeleteObjectsCommand({ Bucket: this.settings.bucket, Delete: { Objects: old.map((object) => ({ Key: object.Key! })), Quiet: true } }));
        removed += old.length;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return removed;
  }

  close(): void {
    this.client.destroy();
  }
}
