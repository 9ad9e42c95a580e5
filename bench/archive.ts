// The message archive on Redis (XEP-0313, cluster/redis/archive.ts), on a redis-server of its own:
// 1. bytes per archived message: one archive filled with typical chat messages (about 400 bytes
//    of XML each, 20 contacts), MEMORY USAGE of all its keys divided by the count;
// 2. the time of a 50-message page from that archive (latest page, and a page in the middle,
//    with and without a `with` filter): p50 and p99 over many queries, through the store.
//   node --import tsx bench/archive.ts [messages, default 100000] [queries, default 500]
import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createRedisBackend } from '../cluster/redis/index.js';
import type { ArchiveQuery } from '../src/state/archive.js';
import { startRedisServer } from '../test/support/redis-server.js';

const [count = 100_000, queries = 500] = process.argv.slice(2).filter((arg) => /^\d+$/.test(arg)).map(Number);
const owner = 'alice@bench.example';
const contacts = Array.from({ length: 20 }, (_, n) => `contact${n}@bench.example`);
const limits = { maxEntries: 1_000_000, maxAgeMs: 365 * 86_400_000, dedupeWindowMs: 600_000 };

/** A message as Conversations sends it: body, origin-id, chat state, receipt request, marker. */
function typical(n: number, contact: string): string {
  const body = `Message ${n}: see you at the station around seven, I'll bring the tickets`;
  return `<message xmlns='jabber:client' from='${owner}/Conversations.${n % 3}Xy1' to='${contact}' type='chat' id='${randomUUID()}'>`
    + `<body>${body}</body><origin-id xmlns='urn:xmpp:sid:0' id='${randomUUID()}'/><active xmlns='http://jabber.org/protocol/chatstates'/>`
    + `<request xmlns='urn:xmpp:receipts'/><markable xmlns='urn:xmpp:chat-markers:0'/></message>`;
}

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;

const redis = await startRedisServer();
const prefix = `bench${randomBytes(3).toString('hex')}`;
const state = await createRedisBackend({ url: redis.url, prefix });
const admin = new Redis(redis.url);
try {
  let xmlBytes = 0;
  const start = Date.now() - count;
  const fillStart = performance.now();
  for (let n = 0; n < count; n += 200) {
    await Promise.all(
      Array.from({ length: Math.min(200, count - n) }, (_, k) => {
        const i = n + k;
        const contact = contacts[i % contacts.length] as string;
        const xml = typical(i, contact);
        xmlBytes += Buffer.byteLength(xml);
        return state.archive.append(owner, { with: contact, xml, stamp: start + i, dedupe: `${owner}/Conversations ${randomUUID()}` }, limits);
      }),
    );
  }
  const fillSeconds = (performance.now() - fillStart) / 1000;
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await admin.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...found);
  } while (cursor !== '0');
  let bytes = 0;
  const perKey: Record<string, number> = {};
  for (const key of keys) {
    const usage = (await admin.memory('USAGE', key, 'SAMPLES', 0)) ?? 0;
    bytes += usage;
    const kind = key.replace(/^.*\}:/, '').replace(/^mam:w:.*/, 'mam:w:<contact>');
    perKey[kind] = (perKey[kind] ?? 0) + usage;
  }

  const middle = (await state.archive.query(owner, { max: 1, start: start + Math.floor(count / 2) }))?.entries[0]?.id as string;
  const cases: Record<string, ArchiveQuery> = {
    'latest page': { max: 50, before: '' },
    'latest page, with': { max: 50, before: '', with: contacts[7] as string },
    'middle page': { max: 50, after: middle },
    'middle page, with': { max: 50, after: middle, with: contacts[7] as string },
    'page by time, with': { max: 50, start: start + Math.floor(count / 3), with: contacts[7] as string },
  };
  const latency: Record<string, { p50: number; p99: number; entries: number }> = {};
  for (const [name, query] of Object.entries(cases)) {
    const times: number[] = [];
    let entries = 0;
    for (let q = 0; q < queries; q++) {
      const t0 = performance.now();
      const page = await state.archive.query(owner, query);
      times.push(performance.now() - t0);
      entries = page?.entries.length ?? 0;
    }
    times.sort((a, b) => a - b);
    latency[name] = { p50: Number(percentile(times, 50).toFixed(3)), p99: Number(percentile(times, 99).toFixed(3)), entries };
  }
  console.log(JSON.stringify({
    messages: count,
    averageXmlBytes: Math.round(xmlBytes / count),
    redisBytes: bytes,
    redisBytesPerMessage: Math.round(bytes / count),
    bytesByKey: Object.fromEntries(Object.entries(perKey).map(([kind, value]) => [kind, Math.round(value / count)])),
    appendsPerSecond: Math.round(count / fillSeconds),
    pageMs: latency,
  }, null, 1));
} finally {
  admin.disconnect();
  await state.close();
  await redis.stop();
}
