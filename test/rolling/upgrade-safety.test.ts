// Upgrade safety with another XEP-0198 implementation among the clients (doc/upgrade-safety.md):
// three nodes behind HAProxy, 10 slixmpp clients (Debian's python3-slixmpp) each chatting with
// one of ours every 500 ms, while (1) every node is restarted in turn (SIGTERM, drain, a
// replacement) — clients resume on a node that is drained next, i.e. resume twice — and (2) a
// node is killed with kill -9 during traffic and replaced. Per run: nothing the sender's server
// acknowledged is lost, nothing arrives twice, no sender's messages overtake each other, no
// client logs in again, nobody is seen unavailable. The figures and every problem go to
// .tmp/reports/upgrade-safety.txt, printed when a test fails.
//
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../tools/local-cluster.js';
import { printReportOnFailure, testReport } from '../support/report.js';
import { type Figures, formatFigures, MixedLoad } from './mixed-load.js';

const PAIRS = 10;
const INTERVAL_MS = 500;
/** Shorter liveness than the defaults (heartbeat 2 s, dead after 10 s), as the rolling-restart test. */
const ENV = { ROOKERY_HEARTBEAT_MS: '500', ROOKERY_NODE_DEAD_AFTER_MS: '5000', ROOKERY_SWEEP_EVERY_MS: '500' };

const file = testReport('upgrade-safety');
printReportOnFailure(file);
const log = (line: string): void => file.log(`[${new Date().toISOString().slice(11, 23)}] ${line}`);
const traffic = (load: MixedLoad, count: number, what: string): Promise<void> => waitFor(() => load.sent >= count, 30_000, what);

describe.sequential('a rolling restart with slixmpp clients resuming twice', () => {
  let load: MixedLoad;
  let figures: Figures;

  beforeAll(async () => {
    load = await MixedLoad.start({ pairs: PAIRS, nodes: 3, intervalMs: INTERVAL_MS, env: ENV, log });
    load.startTraffic();
    await traffic(load, PAIRS * 2 * 3, 'messages flowing');
    for (let index = 0; index < load.cluster.nodes.length; index++) {
      const stopMs = await load.cluster.stopNode(index);
      await load.cluster.startNode(index);
      log(`node${index}: drained in ${stopMs} ms, replacement up`);
      await traffic(load, load.sent + PAIRS * 2, 'messages flowing after a restart');
    }
    figures = await load.settle(15_000);
    log(`rolling restart:\n${formatFigures(figures)}`);
  }, 85_000);
  afterAll(async () => {
    await load?.stop();
  }, 30_000);

  it('moves every client at least once, slixmpp ones included', () => {
    expect(figures.acked).toBeGreaterThan(PAIRS * 2 * 3);
    expect(figures.resumes).toBeGreaterThanOrEqual(PAIRS * 2);
  });

  it('loses nothing the server acknowledged', () => {
    expect(figures.lost).toBe(0);
  });

  it('delivers nothing twice', () => {
    expect(figures.duplicates).toBe(0);
  });

  it('keeps the order of each sender', () => {
    expect(figures.outOfOrder).toBe(0);
  });

  it('has no client log in again and shows nobody unavailable', () => {
    expect(figures.relogins).toBe(0);
    expect(figures.unavailable).toBe(0);
  });
});

describe.sequential('kill -9 of a node during traffic, replaced', () => {
  let load: MixedLoad;
  let figures: Figures;
  let resumeMs: number[] = [];

  beforeAll(async () => {
    load = await MixedLoad.start({ pairs: PAIRS, nodes: 3, intervalMs: INTERVAL_MS, env: ENV, log });
    load.startTraffic();
    await traffic(load, PAIRS * 2 * 3, 'messages flowing');
    const victims = await load.clientsOn(load.cluster.nodes[0]!.id);
    const before = new Map(victims.map((client) => [client.index, client.resumes()]));
    const killedAt = Date.now();
    await load.cluster.killNode(0);
    log(`node0 killed with ${victims.length} clients`);
    await load.cluster.startNode(0);
    log(`node0 replaced after ${Date.now() - killedAt} ms`);
    await waitFor(() => victims.every((client) => client.resumes() > (before.get(client.index) ?? 0)), 30_000, 'the clients of the killed node resumed').catch((error: unknown) => log(String(error)));
    resumeMs = victims.filter((client) => client.resumes() > (before.get(client.index) ?? 0)).map((client) => client.resumedAt() - killedAt).sort((a, b) => a - b);
    log(`resumed after kill -9 (ms): ${resumeMs.join(' ')}`);
    await traffic(load, load.sent + PAIRS * 2 * 2, 'messages flowing after the kill');
    figures = await load.settle(15_000);
    log(`kill -9:\n${formatFigures(figures)}`);
  }, 85_000);
  afterAll(async () => {
    await load?.stop();
  }, 30_000);

  it('resumes every client of the killed node', () => {
    expect(resumeMs.length).toBeGreaterThan(0);
    expect(figures.acked).toBeGreaterThan(PAIRS * 2 * 3);
  });

  it('loses nothing the server acknowledged', () => {
    expect(figures.lost).toBe(0);
  });

  // Finding 2 (doc/upgrade-safety.md): a copy the dead node's inbox, a re-read bus history or the
  // adopted queue brings again carries the stanza's identity, and the resumed stream drops it.
  it('delivers nothing twice', () => {
    expect(figures.duplicates).toBe(0);
  });

  // Finding 3: the resuming node takes what the dead node's inbox holds for the resource and
  // queues it ahead of what reached the resumed stream directly.
  it('keeps the order of each sender', () => {
    expect(figures.outOfOrder).toBe(0);
  });

  it('has no client log in again and shows nobody unavailable', () => {
    expect(figures.relogins).toBe(0);
    expect(figures.unavailable).toBe(0);
  });
});
