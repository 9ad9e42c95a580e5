// Where uploaded files live: a directory (disk.ts) or an S3 bucket (s3.ts). Both are shared by
// every node (a volume every pod mounts, or the bucket), so a file PUT through one node is served
// by any other.
import type { Readable } from 'node:stream';
import type { Slot } from './slot.js';

export interface StoredFile {
  name: string;
  size: number;
  type: string;
  body: Readable;
}

export type ReceiveResult = 'stored' | 'exists' | 'size-mismatch';

export interface FileStore {
  readonly kind: 'disk' | 's3';
  /**
   * Where the client PUTs the file and the headers it must send: the node's own URL with the
   * slot token (disk), or a presigned URL of the bucket (S3).
   */
  putTarget(slot: Slot, ownUrl: string, token: string): Promise<{ url: string; headers: Record<string, string> }>;
  /** The body of a PUT to the node (disk only): stored whole, or not at all. */
  receive?(slot: Slot, body: Readable): Promise<ReceiveResult>;
  /** A GET: the file, or a URL to redirect to (S3), or undefined when there is none. */
  fetch(id: string, name: string): Promise<{ file: StoredFile } | { redirect: string } | undefined>;
  /** Deletes what was uploaded before `before` (ms since the epoch); how many files went. */
  expire(before: number): Promise<number>;
}
