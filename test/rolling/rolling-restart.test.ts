// The rolling restart, end to end: Redis, three nodes behind HAProxy, 200 clients with stream
// management (four of them @xmpp/client with its own stream-management plugin) exchanging
// messages without pause, and every node restarted in turn — SIGTERM, then a replacement that
// starts and becomes ready. The run itself is test/tools/rolling-restart.ts (`npm run
// rolling-restart` runs it on demand, larger); this checks its figures. The figures go to
// .tmp/reports/rolling-restart.txt, printed only when a test fails.
import { beforeAll, describe, expect, it } from 'vitest';
import { formatReport, runRollingRestart, type RollingRestartReport } from '../tools/rolling-restart.js';
import { printReportOnFailure, testReport } from '../support/report.js';

const CLIENTS = 200;
const XMPP_CLIENTS = 4;
const NODES = 3;
const DRAIN_TIMEOUT_SECONDS = 5;

describe('a rolling restart of a three-node cluster under load', () => {
  let report: RollingRestartReport;
  const file = testReport('rolling-restart');
  printReportOnFailure(file);

  beforeAll(async () => {
    report = await runRollingRestart({
      clients: CLIENTS,
      xmppClients: XMPP_CLIENTS,
      nodes: NODES,
      intervalMs: 200,
      loginConcurrency: 25,
      drainTimeoutSeconds: DRAIN_TIMEOUT_SECONDS,
      settleTimeoutMs: 20_000,
      log: (line) => file.log(`[${new Date().toISOString().slice(11, 23)}] ${line}`),
      // Shorter liveness than the defaults, still far from declaring a busy node dead.
      env: { ROOKERY_HEARTBEAT_MS: '500', ROOKERY_NODE_DEAD_AFTER_MS: '5000', ROOKERY_SWEEP_EVERY_MS: '500' },
    });
    file.log(`rolling restart of ${NODES} nodes under ${CLIENTS} clients:\n${formatReport(report)}`);
    if (report.problems.length > 0) file.log(report.problems.join('\n'));
  }, 150_000);

  it('restarts every node in turn, each drain within its bound', () => {
    expect(report.nodeRestarts.map((restart) => restart.node)).toEqual(['node0', 'node1', 'node2']);
    for (const restart of report.nodeRestarts) expect(restart.stopMs).toBeLessThan((DRAIN_TIMEOUT_SECONDS + 5) * 1000);
    expect(report.restartMs).toBeGreaterThan(0);
  });

  it('keeps messages flowing across nodes the whole time', () => {
    expect(report.clients).toBe(CLIENTS);
    expect(report.crossNodePairs).toBeGreaterThan(0);
    // At least one message per client per restarted node, and then some.
    expect(report.sent).toBeGreaterThan(CLIENTS * NODES);
  });

  it('delivers every message sent exactly once, counted by id', () => {
    expect(report.lost).toBe(0);
    expect(report.duplicates).toBe(0);
    expect(report.delivered).toBe(report.sent);
    expect(report.bounced).toBe(0);
    expect(report.misdelivered).toBe(0);
  });

  it('has every client resume, @xmpp/client ones included, and none fail', () => {
    expect(report.failedResumes).toBe(0);
    expect(report.clientsResumed).toBe(CLIENTS);
    expect(report.xmppClients).toBe(XMPP_CLIENTS);
    expect(report.xmppClientsResumed).toBe(XMPP_CLIENTS);
  });

  it('leaves every client online with the same full JID and resumption id', () => {
    expect(report.jidChanged).toBe(0);
    expect(report.notOnline).toBe(0);
  });

  it('shows no contact an unavailable presence from anyone', () => {
    expect(report.unavailableSeen).toBe(0);
  });
});
