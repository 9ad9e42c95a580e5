// XEP-0363 HTTP upload on the disk store: one node on the embedded store (slots, PUT, GET, the
// refusals, a restart), and two nodes of a cluster sharing the directory (a slot issued by one
// node is PUT through the other and fetched from either).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiskFileStore } from '../../src/upload/disk.js';
import { condition, useTestServer } from '../support/fixture.js';
import { RawClient } from '../support/client.js';
import { type HttpNode, PASSWORD, startHttpNode } from '../http/support.js';
import { NS_UPLOAD, onPort, requestSlot, requestXml } from './support.js';

const bytes = (n: number, seed = 7): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * seed + 13) % 256));

async function put(url: string, headers: Record<string, string>, body: Buffer, extra: Record<string, string> = {}): Promise<number> {
  const response = await fetch(url, { method: 'PUT', headers: { ...headers, ...extra }, body: new Uint8Array(body) });
  await response.arrayBuffer();
  return response.status;
}

describe('HTTP upload on one node (embedded store, disk)', () => {
  let node: HttpNode;
  let client: RawClient;
  const domain = 'localhost';

  async function connect(): Promise<RawClient> {
    const connected = await RawClient.connect({ port: node.node.server.ports().c2s, domain });
    await connected.login('alice', PASSWORD, 'phone');
    return connected;
  }

  beforeAll(async () => {
    node = await startHttpNode({}, { uploadMaxFileBytes: 100_000, uploadDailyQuotaBytes: 250_000 });
    await node.createUser('alice');
    client = await connect();
  });
  afterAll(async () => {
    client?.destroy();
    await node?.stop();
  });

  it('is advertised on the server with its largest file size', async () => {
    const info = await client.iq('get', "<query xmlns='http://jabber.org/protocol/disco#info'/>", domain);
    const query = info.getChild('query');
    expect(query?.getChildren('feature').map((feature) => feature.attrs.var)).toContain(NS_UPLOAD);
    const form = query?.getChild('x', 'jabber:x:data');
    const field = (name: string) => form?.getChildren('field').find((f) => f.attrs.var === name)?.getChildText('value');
    expect(field('FORM_TYPE')).toBe(NS_UPLOAD);
    expect(field('max-file-size')).toBe('100000');
  });

  it('issues a slot whose PUT stores the file and whose GET serves it, with safe headers', async () => {
    const file = bytes(40_000);
    const offer = await requestSlot(client, domain, 'holiday photo.jpg', file.length, 'image/jpeg');
    expect(offer.get).toMatch(/\/upload\/[A-Za-z0-9_-]{22}\/holiday%20photo\.jpg$/);
    expect(offer.headers.Authorization).toMatch(/^Bearer /);
    expect(await put(onPort(offer.put, node.port), offer.headers, file, { 'content-type': 'image/jpeg' })).toBe(201);
    const response = await fetch(onPort(offer.get, node.port));
    expect(response.status).toBe(200);
    expect(Buffer.from(await response.arrayBuffer()).equals(file)).toBe(true);
    expect(response.headers.get('content-type')).toBe('image/jpeg');
    expect(response.headers.get('content-disposition')).toBe("inline; filename*=UTF-8''holiday%20photo.jpg");
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    const head = await fetch(onPort(offer.get, node.port), { method: 'HEAD' });
    expect(head.status).toBe(200);
    // A second PUT of the same slot finds the file there.
    expect(await put(onPort(offer.put, node.port), offer.headers, file, { 'content-type': 'image/jpeg' })).toBe(409);
  });

  it('refuses a PUT without the token, with another slot\'s token, of another size or type', async () => {
    const file = bytes(1000);
    const offer = await requestSlot(client, domain, 'notes.txt', file.length, 'text/plain');
    const other = await requestSlot(client, domain, 'other.txt', file.length, 'text/plain');
    const url = onPort(offer.put, node.port);
    expect(await put(url, {}, file, { 'content-type': 'text/plain' })).toBe(401);
    expect(await put(url, other.headers, file, { 'content-type': 'text/plain' })).toBe(403);
    expect(await put(url, offer.headers, bytes(1001), { 'content-type': 'text/plain' })).toBe(413);
    expect(await put(url, offer.headers, bytes(999), { 'content-type': 'text/plain' })).toBe(400);
    expect(await put(url, offer.headers, file, { 'content-type': 'text/html' })).toBe(400);
    // Nothing was stored by the refused attempts; the right one still goes through.
    expect((await fetch(onPort(offer.get, node.port))).status).toBe(404);
    expect(await put(url, offer.headers, file, { 'content-type': 'text/plain' })).toBe(201);
    const served = await fetch(onPort(offer.get, node.port));
    expect(served.headers.get('content-disposition')).toBe("attachment; filename*=UTF-8''notes.txt");
    expect(Buffer.from(await served.arrayBuffer()).equals(file)).toBe(true);
  });

  it('answers a browser\'s preflight for a PUT with an Authorization header', async () => {
    const offer = await requestSlot(client, domain, 'pre.bin', 10);
    const response = await fetch(onPort(offer.put, node.port), { method: 'OPTIONS', headers: { origin: 'https://web.example', 'access-control-request-method': 'PUT' } });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('access-control-allow-headers')).toContain('Authorization');
  });

  it('refuses a file over the limit with <file-too-large/>, a bad request, and a spent daily quota', async () => {
    const tooLarge = await client.iq('get', requestXml('big.iso', 100_001), domain);
    expect(condition(tooLarge)).toBe('not-acceptable');
    expect(tooLarge.getChild('error')?.getChild('file-too-large', NS_UPLOAD)?.getChildText('max-file-size')).toBe('100000');
    const noSize = await client.iq('get', `<request xmlns='${NS_UPLOAD}' filename='x.txt'/>`, domain);
    expect(condition(noSize)).toBe('bad-request');
    const badName = await client.iq('get', requestXml('..', 5), domain);
    expect(condition(badName)).toBe('bad-request');
    // 40,000 + 1,000 × 2 + 10 used so far today; three more of 70,000 pass 250,000.
    for (let i = 0; i < 2; i++) await requestSlot(client, domain, `chunk${i}.bin`, 70_000);
    const spent = await client.iq('get', requestXml('chunk3.bin', 70_000), domain);
    expect(condition(spent)).toBe('resource-constraint');
    expect(spent.getChild('error')?.attrs.type).toBe('wait');
  });

  it('keeps accepting a slot issued before a restart (the signing key is kept in the data directory)', async () => {
    const file = bytes(500);
    const offer = await requestSlot(client, domain, 'later.bin', file.length);
    client.destroy();
    const { config, dataDir } = node;
    await node.node.stop();
    node = await startHttpNode({ dataDir, nodeId: config.nodeId }, config.limits);
    expect(await put(onPort(offer.put, node.port), offer.headers, file)).toBe(201);
    expect(Buffer.from(await (await fetch(onPort(offer.get, node.port))).arrayBuffer()).equals(file)).toBe(true);
    client = await connect();
  });

  it('deletes files older than the expiry, with the drafts of PUTs that never finished', async () => {
    const file = bytes(300);
    const offer = await requestSlot(client, domain, 'old.bin', file.length);
    expect(await put(onPort(offer.put, node.port), offer.headers, file)).toBe(201);
    const store = new DiskFileStore(join(node.dataDir, 'uploads'));
    expect(await store.expire(Date.now() - 60_000)).toBe(0);
    expect((await fetch(onPort(offer.get, node.port))).status).toBe(200);
    expect(await store.expire(Date.now() + 1000)).toBeGreaterThanOrEqual(1);
    expect((await fetch(onPort(offer.get, node.port))).status).toBe(404);
  });
});

describe('HTTP upload across the nodes of a cluster (one shared directory)', () => {
  const directory = mkdtempSync(join(tmpdir(), 'rookery-uploads-'));
  const fixture = useTestServer({ backend: 'cluster', config: { uploadDirectory: directory } });
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it('takes the PUT of a slot issued by one node on the other, and serves it from both', async () => {
    const { server } = fixture;
    const local = await fixture.user('uploader');
    const client = await server.login(local);
    const issuer = server.nodes.indexOf(server.nodeOf(client));
    const [here, there] = [server.httpPorts[issuer] as number, server.httpPorts[1 - issuer] as number];
    const file = bytes(64 * 1024, 11);
    const offer = await requestSlot(client, server.config.domain, 'voice.ogg', file.length, 'audio/ogg');
    expect(await put(onPort(offer.put, there), offer.headers, file, { 'content-type': 'audio/ogg' })).toBe(201);
    for (const port of [here, there]) {
      const response = await fetch(onPort(offer.get, port));
      expect(response.status).toBe(200);
      expect(Buffer.from(await response.arrayBuffer()).equals(file)).toBe(true);
    }
  });
});
