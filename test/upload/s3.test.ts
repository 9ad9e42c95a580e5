// XEP-0363 HTTP upload on S3, against a real S3-compatible server (s3rver, which checks AWS
// signatures): the client PUTs straight to the bucket with the presigned URL of its slot, and the
// GET URL on the node redirects to the object. What the slot signed (length, type) is enforced by
// the bucket itself.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3FileStore } from '../../src/upload/s3.js';
import { RawClient } from '../support/client.js';
import { type HttpNode, PASSWORD, startHttpNode } from '../http/support.js';
import { onPort, requestSlot } from './support.js';

const BUCKET = 'rookery-uploads';

describe('HTTP upload on S3 (s3rver)', () => {
  const directory = mkdtempSync(join(tmpdir(), 'rookery-s3-'));
  let s3: S3rver;
  let endpoint: string;
  let node: HttpNode;
  let client: RawClient;
  const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };

  beforeAll(async () => {
    s3 = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: BUCKET, configs: [] }] });
    const address = (await s3.run()) as { port: number };
    endpoint = `http://127.0.0.1:${address.port}`;
    // s3rver's credentials, found by the AWS SDK where a deployment would put them.
    process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
    process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
    node = await startHttpNode({ uploadStore: 'auto', uploadS3Bucket: BUCKET, uploadS3Endpoint: endpoint, uploadS3PathStyle: true });
    await node.createUser('carol');
    client = await RawClient.connect({ port: node.node.server.ports().c2s, domain: 'localhost' });
    await client.login('carol', PASSWORD, 'laptop');
  });
  afterAll(async () => {
    client?.destroy();
    await node?.stop();
    await s3?.close();
    process.env.AWS_ACCESS_KEY_ID = saved.id;
    process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
    if (saved.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
    if (saved.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
    rmSync(directory, { recursive: true, force: true });
  });

  it('hands out a presigned PUT to the bucket; the GET URL on any node redirects to the object', async () => {
    const file = Buffer.from('a picture, or near enough'.repeat(100));
    const offer = await requestSlot(client, 'localhost', 'cat.png', file.length, 'image/png');
    expect(offer.put.startsWith(`${endpoint}/${BUCKET}/`)).toBe(true);
    const stored = await fetch(offer.put, { method: 'PUT', headers: offer.headers, body: new Uint8Array(file) });
    expect(stored.status).toBe(200);
    const redirect = await fetch(onPort(offer.get, node.port), { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('location')?.startsWith(`${endpoint}/${BUCKET}/`)).toBe(true);
    const followed = await fetch(onPort(offer.get, node.port));
    expect(followed.status).toBe(200);
    expect(Buffer.from(await followed.arrayBuffer()).equals(file)).toBe(true);
    // Nothing is PUT to a node when the files are in a bucket.
    expect((await fetch(onPort(offer.get, node.port), { method: 'PUT', body: 'x' })).status).toBe(405);
  });

  // s3rver accepts any SigV4 signature ("calculation is unimplemented" in its source), so what
  // S3 itself enforces is checked in the URL: the length and type are signed, and no checksum of
  // an empty body is (which S3 would hold against the real body).
  it('signs the length and type of the slot into the PUT URL, and no checksum', async () => {
    const offer = await requestSlot(client, 'localhost', 'doc.pdf', 100, 'application/pdf');
    const query = new URL(offer.put).searchParams;
    expect(query.get('X-Amz-SignedHeaders')?.split(';')).toEqual(expect.arrayContaining(['content-length', 'content-type', 'host']));
    expect(query.get('X-Amz-Expires')).toBe('300');
    expect([...query.keys()].filter((key) => key.toLowerCase().includes('checksum'))).toEqual([]);
    expect(offer.headers).toEqual({ 'Content-Type': 'application/pdf' });
    expect((await fetch(onPort(offer.get, node.port))).status).toBe(404);
  });

  it('deletes objects older than the expiry', async () => {
    const offer = await requestSlot(client, 'localhost', 'old.txt', 5, 'text/plain');
    expect((await fetch(offer.put, { method: 'PUT', headers: offer.headers, body: 'hello' })).status).toBe(200);
    const store = new S3FileStore({ bucket: BUCKET, region: 'us-east-1', endpoint, pathStyle: true });
    try {
      expect(await store.expire(Date.now() - 60_000)).toBe(0);
      expect(await store.expire(Date.now() + 60_000)).toBeGreaterThanOrEqual(1);
    } finally {
      store.close();
    }
    expect((await fetch(onPort(offer.get, node.port))).status).toBe(404);
  });
});
