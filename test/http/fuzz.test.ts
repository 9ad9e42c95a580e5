// Over 10,000 hostile HTTP requests against a running node, over raw sockets and fetch, from a
// fixed seed (FUZZ_SEED, in .tmp/reports/http-fuzz.txt; FUZZ_SCALE multiplies the counts). Every answer is a 4xx (200 or
// 201 for the legitimate requests mixed in), never a 5xx; no connection is held past the request
// timeout; nothing is logged as a failure; no hostile request creates an account; and afterwards
// the node still answers /healthz and an XMPP client can log in. The counts go to a table
// (README.md, "Security").
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { tokenPath } from '../../src/admin/token.js';
import { FUZZ_SEED, runs } from '../fuzz/options.js';
import { parseExposition } from '../metrics/support.js';
import {
  badAuth, badEscapes, badJson, badMethods, type Case, type CaseClass, garbage, hugeBodies, hugeHeaders, legitimate, nulBytes, overRawSocket, raw, type RawCase,
  slowSenders, smuggling, traversals, truncatedBodies, wrongContentTypes,
} from './hostile-inputs.js';
import { exchange, type HttpNode, startHttpNode } from './support.js';
import { printReportOnFailure, testReport } from '../support/report.js';

const report = testReport('http-fuzz');
printReportOnFailure(report);

const REQUEST_TIMEOUT_MS = 2_000;
/** A connection still open this long after its last byte was held past the timeout. */
const CUT_OFF_MS = REQUEST_TIMEOUT_MS + 3_000;
const MAX_CONNECTIONS = 256;
const CONCURRENCY = 24;
const BURST = runs(600);
/** One request in this many of the fetch-shaped classes goes through fetch, the others over a raw socket. */
const FETCH_EVERY = 4;

interface Tally {
  requests: number;
  viaFetch: number;
  statuses: Map<number, number>;
  /** Closed by the server (or reset) without an answer. */
  unanswered: number;
  /** Neither answered nor closed within CUT_OFF_MS. */
  hung: number;
  slowestMs: number;
}

/** Which answers each class may get; legitimate requests are the only ones that may succeed. */
const ACCEPTABLE: Record<CaseClass, { statuses: number[]; unanswered: boolean }> = {
  // 200: a probe ignores its query; 415: a POST/PUT whose bad escape is in the query, without a body.
  'bad percent escapes': { statuses: [200, 400, 401, 404, 415], unanswered: false },
  'bad or unknown methods': { statuses: [400, 404], unanswered: true },
  'huge headers or URL': { statuses: [431], unanswered: true },
  'huge bodies': { statuses: [401, 413], unanswered: true },
  'truncated bodies': { statuses: [400, 408], unanswered: true },
  'bad JSON': { statuses: [400, 404], unanswered: false },
  'wrong content types': { statuses: [401, 415], unanswered: false },
  'path traversal': { statuses: [400, 401, 404], unanswered: false },
  'NUL bytes': { statuses: [400, 404], unanswered: false },
  'request smuggling shapes': { statuses: [400, 401, 404, 415], unanswered: false },
  'slow senders': { statuses: [408], unanswered: true },
  'parallel connections': { statuses: [200], unanswered: true },
  // 200: node tolerates two framings of `GET /healthz` (no HTTP version, two Host headers).
  'garbage bytes': { statuses: [200, 400], unanswered: true },
  'bad token or foreign Origin': { statuses: [401, 403], unanswered: false },
  'legitimate requests': { statuses: [200, 201], unanswered: false },
};

let node: HttpNode;
let token: string;
const tallies = new Map<CaseClass, Tally>();

function record(test: Case, statuses: number[], unanswered: boolean, hung: boolean, elapsedMs: number): void {
  const tally = tallies.get(test.kind) ?? { requests: 0, viaFetch: 0, statuses: new Map(), unanswered: 0, hung: 0, slowestMs: 0 };
  tallies.set(test.kind, tally);
  tally.requests++;
  if (test.via === 'fetch') tally.viaFetch++;
  for (const status of statuses) tally.statuses.set(status, (tally.statuses.get(status) ?? 0) + 1);
  if (statuses.length === 0 && unanswered) tally.unanswered++;
  if (hung) tally.hung++;
  tally.slowestMs = Math.max(tally.slowestMs, elapsedMs);
}

async function run(test: Case): Promise<void> {
  if (test.via === 'raw') {
    const answer = await exchange(node.port, { ...test, waitMs: CUT_OFF_MS });
    record(test, answer.statuses, answer.closed, answer.hung, answer.elapsedMs);
    return;
  }
  const started = Date.now();
  try {
    const response = await fetch(node.url(test.path), { method: test.method, headers: test.headers, signal: AbortSignal.timeout(CUT_OFF_MS), ...(test.body !== undefined ? { body: test.body } : {}) });
    await response.arrayBuffer();
    record(test, [response.status], false, false, Date.now() - started);
  } catch (error) {
    const timedOut = (error as Error).name === 'TimeoutError';
    record(test, [], !timedOut, timedOut, Date.now() - started);
  }
}

async function pool(cases: Case[], concurrency: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < cases.length) await run(cases[next++] as Case);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** Interleaves the classes, so hostile and legitimate requests share the node at the same time. */
function interleave(groups: Case[][]): Case[] {
  const routed = groups.map((group) => group.map((test, i) => (test.via === 'fetch' && i % FETCH_EVERY !== 0 ? overRawSocket(test) : test)));
  const mixed: Case[] = [];
  const longest = Math.max(...routed.map((group) => group.length));
  for (let i = 0; i < longest; i++) for (const group of routed) if (i < group.length) mixed.push(group[i] as Case);
  return mixed;
}

function table(): string {
  const rows = [...tallies].map(([kind, t]) => {
    const answers = [...t.statuses].sort(([a], [b]) => a - b).map(([status, n]) => `${status} ×${n}`).join(', ');
    return `| ${kind} | ${t.requests} | ${t.viaFetch} | ${answers || '—'} | ${t.unanswered} | ${t.hung} | ${t.slowestMs} |`;
  });
  const total = [...tallies.values()].reduce((sum, t) => sum + t.requests, 0);
  return [
    '| class | requests | of them by fetch | answers (status ×count) | closed without answer | held open | slowest (ms) |',
    '|---|---|---|---|---|---|---|',
    ...rows,
    `| **total** | **${total}** | | | | | |`,
  ].join('\n');
}

beforeAll(async () => {
  node = await startHttpNode({}, { httpRequestTimeoutMs: REQUEST_TIMEOUT_MS, httpMaxConnections: MAX_CONNECTIONS });
  token = (await readFile(tokenPath(node.dataDir), 'utf8')).trim();
  await node.createUser('alice');
  await node.createUser('checker');
  report.log(`HTTP fuzz: FUZZ_SEED=${FUZZ_SEED}`);
});

afterAll(async () => {
  report.log(`HTTP fuzz (FUZZ_SEED=${FUZZ_SEED}):\n${table()}`);
  await node?.stop();
});

describe('a node under more than 10,000 hostile HTTP requests', () => {
  it('answers every one with a 4xx (the legitimate ones with 200 or 201), never a 5xx, and holds no connection past its timeout', { timeout: 120_000 }, async () => {
    const started = Date.now();
    const seed = (offset: number): number => FUZZ_SEED + offset;
    const mixed = interleave([
      badEscapes(runs(2_000), seed(1), token),
      badMethods(runs(1_000), seed(2)),
      hugeHeaders(runs(200), seed(3)),
      hugeBodies(runs(200), seed(4), token),
      truncatedBodies(runs(100), seed(5), token),
      badJson(runs(1_500), seed(6), token),
      wrongContentTypes(runs(1_000), seed(7), token),
      traversals(runs(1_000), seed(8), token),
      nulBytes(runs(500), seed(9), token),
      smuggling(runs(500), seed(10), token),
      garbage(runs(1_500), seed(11)),
      badAuth(runs(500), seed(12), token, node.port),
      legitimate(runs(500), token),
    ]);
    report.log(`HTTP fuzz: ${mixed.length} inputs drawn in ${Date.now() - started} ms`);
    // The slow senders hold their connections while everything else goes on.
    await Promise.all([pool(slowSenders(runs(60), seed(13), token), 60), pool(mixed, CONCURRENCY)]);
    // Then more connections at once than the cap, each sending its request in two halves so that
    // they overlap: each is answered, or closed at once.
    const halves = (test: RawCase): RawCase => {
      const [whole] = test.chunks as [Buffer];
      return { ...test, chunks: [whole.subarray(0, 10), whole.subarray(10)], pauseMs: 300 };
    };
    await pool(Array.from({ length: BURST }, () => halves(raw('parallel connections', 'GET', '/healthz'))), BURST);

    const total = [...tallies.values()].reduce((sum, t) => sum + t.requests, 0);
    report.log(`HTTP fuzz: ${total} requests in ${Date.now() - started} ms`);
    expect(total).toBeGreaterThanOrEqual(10_000);
    for (const [kind, tally] of tallies) {
      const acceptable = ACCEPTABLE[kind];
      expect([kind, [...tally.statuses.keys()].filter((status) => !acceptable.statuses.includes(status))]).toEqual([kind, []]);
      expect([kind, 'held open', tally.hung]).toEqual([kind, 'held open', 0]);
      if (!acceptable.unanswered) expect([kind, 'closed without answer', tally.unanswered]).toEqual([kind, 'closed without answer', 0]);
    }
    expect(tallies.get('slow senders')?.slowestMs).toBeLessThan(CUT_OFF_MS);
    expect(node.problems).toEqual([]);
  });

  it('still answers /healthz and /readyz with 200', async () => {
    expect((await fetch(node.url('/healthz'))).status).toBe(200);
    expect((await fetch(node.url('/readyz'))).status).toBe(200);
  });

  it('counted its answers in rookery_http_responses_total, none of them a 5xx', async () => {
    const { samples } = parseExposition(await (await fetch(node.url('/metrics'))).text());
    const answers = samples.filter((sample) => sample.name === 'rookery_http_responses_total');
    expect(answers.reduce((sum, sample) => sum + sample.value, 0)).toBeGreaterThan(10_000);
    expect(answers.filter((sample) => Number(sample.labels.status) >= 500)).toEqual([]);
  });

  it('still lets an XMPP client log in', async () => {
    expect(await node.login('checker')).toBe('checker@localhost/check');
  });

  it('created no account but the legitimate ones, and nothing reached Object.prototype', async () => {
    const users = (await (await fetch(node.url('/admin/users'), { headers: { authorization: `Bearer ${token}` } })).json()) as string[];
    expect(users.filter((jid) => !/^(alice|checker|legit-\d+)@localhost$/.test(jid))).toEqual([]);
    expect(Object.prototype).not.toHaveProperty('polluted');
  });
});
