// Upgrade safety under the two chaos cases (doc/upgrade-safety.md): the mixed slixmpp/ours load of
// upgrade-safety.test.ts while (1) redis-server is killed with SIGKILL during traffic and started
// again from its append-only file, and (2) a node is frozen with SIGSTOP past the dead-after bound
// and then let go on. Per run: nothing the sender's server acknowledged is lost, nothing arrives
// twice, no sender's messages overtake each other, no client logs in again, nobody is seen
// unavailable. Figures and problems go to .tmp/reports/chaos-safety.txt, printed on failure.
//
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../tools/local-cluster.js';
import { printReportOnFailure, testReport } from '../support/report.js';
import { type Figures, formatFigures, MixedLoad } from './mixed-load.js';

const PAIRS = 10;
const INTERVAL_MS = 500;
const DEAD_AFTER_MS = 5000;
/** Shorter than the dead-after bound: heartbeats stop while Redis is away, and no node is to be declared dead for that. */
const REDIS_DOWN_MS = 3000;
const ENV = { ROOKERY_HEARTBEAT_MS: '500', ROOKERY_NODE_DEAD_AFTER_MS: String(DEAD_AFTER_MS), ROOKERY_SWEEP_EVERY_MS: '500' };

const file = testReport('chaos-safety');
printReportOnFailure(file);
const log = (line: string): void => file.log(`[${new Date().toISOString().slice(11, 23)}] ${line}`);
const traffic = (load: MixedLoad, count: number, what: string): Promise<void> => waitFor(() => load.sent >= count, 30_000, what);

function invariants(figures: () => Figures): void {
  it('loses nothing the server acknowledged', () => {
    expect(figures().lost).toBe(0);
  });
  it('delivers nothing twice', () => {
    expect(figures().duplicates).toBe(0);
  });
  it('keeps the order of each sender', () => {
    expect(figures().outOfOrder).toBe(0);
  });
  it('has no client log in again and shows nobody unavailable', () => {
    expect(figures().relogins).toBe(0);
    expect(figures().unavailable).toBe(0);
  });
}

describe.sequential('Redis killed during traffic and restarted from its append-only file', () => {
  let load: MixedLoad;
  let figures: Figures;
  let ackedBefore = 0;

  beforeAll(async () => {
    load = await MixedLoad.start({ pairs: PAIRS, nodes: 3, intervalMs: INTERVAL_MS, env: ENV, redisAppendOnly: true, log });
    load.startTraffic();
    await traffic(load, PAIRS * 2 * 3, 'messages flowing');
    await delay(1500); // past one fsync of the append-only file
    ackedBefore = load.sent;
    const killedAt = Date.now();
    await load.cluster.restartRedis(REDIS_DOWN_MS);
    log(`redis killed, and restarted from its append-only file ${Date.now() - killedAt} ms later`);
    await traffic(load, load.sent + PAIRS * 2 * 3, 'messages flowing after the restart');
    figures = await load.settle(20_000);
    log(`redis restarted from AOF:\n${formatFigures(figures)}`);
  }, 85_000);
  afterAll(async () => {
    await load?.stop();
  }, 30_000);

  it('carries traffic before and after the restart', () => {
    expect(figures.acked).toBeGreaterThan(ackedBefore);
  });
  invariants(() => figures);
});

describe.sequential('a node frozen past the dead-after bound, then let go on', () => {
  let load: MixedLoad;
  let figures: Figures;
  let resumeMs: number[] = [];
  let victims = 0;

  beforeAll(async () => {
    load = await MixedLoad.start({ pairs: PAIRS, nodes: 3, intervalMs: INTERVAL_MS, env: ENV, log });
    load.startTraffic();
    await traffic(load, PAIRS * 2 * 3, 'messages flowing');
    const frozen = await load.clientsOn(load.cluster.nodes[1]!.id);
    victims = frozen.length;
    const before = new Map(frozen.map((client) => [client.index, client.resumes()]));
    const frozenAt = Date.now();
    load.cluster.freezeNode(1);
    log(`node1 frozen with ${frozen.length} clients`);
    await delay(DEAD_AFTER_MS + 3000);
    load.cluster.thawNode(1);
    log(`node1 let go on after ${Date.now() - frozenAt} ms`);
    await waitFor(() => frozen.every((client) => client.resumes() > (before.get(client.index) ?? 0)), 30_000, 'the clients of the frozen node resumed').catch((error: unknown) => log(String(error)));
    resumeMs = frozen.filter((client) => client.resumes() > (before.get(client.index) ?? 0)).map((client) => client.resumedAt() - frozenAt).sort((a, b) => a - b);
    log(`resumed after SIGSTOP (ms): ${resumeMs.join(' ')}`);
    await traffic(load, load.sent + PAIRS * 2 * 2, 'messages flowing after the freeze');
    figures = await load.settle(20_000);
    log(`SIGSTOP past the heartbeat:\n${formatFigures(figures)}`);
  }, 85_000);
  afterAll(async () => {
    await load?.stop();
  }, 30_000);

  it('has the frozen node’s clients resume', () => {
    expect(victims).toBeGreaterThan(0);
    expect(resumeMs.length).toBe(victims);
  });
  invariants(() => figures);
});
