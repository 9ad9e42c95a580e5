// PrometheusTelemetry: the Telemetry port on one dedicated registry, with bounded labels and
// the gauges read at scrape time.
import { register as globalRegistry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { type ClusterSource, PrometheusTelemetry } from '../../metrics/telemetry.js';
import { noTelemetry } from '../../src/telemetry.js';
import { hasSample, parseExposition, type Scrape, valueOf } from './support.js';

async function read(telemetry: PrometheusTelemetry): Promise<Scrape> {
  return { status: 200, contentType: telemetry.contentType, ...parseExposition(await telemetry.metrics()) };
}

const source = (nodeId: string, live: string[], figures: Partial<ClusterSource> = {}): ClusterSource => ({
  nodeId,
  liveNodes: async () => live,
  sessions: async () => 5,
  accounts: async () => 12,
  ...figures,
});

describe('PrometheusTelemetry', () => {
  it('keeps its metrics on its own registry, not on prom-client global one', async () => {
    const telemetry = new PrometheusTelemetry();
    telemetry.authentication('PLAIN', 'success');
    expect(valueOf(await read(telemetry), 'rookery_authentications_total', { mechanism: 'PLAIN', outcome: 'success' })).toBe(1);
    expect(globalRegistry.getSingleMetric('rookery_authentications_total')).toBeUndefined();
    expect(new PrometheusTelemetry().registry).not.toBe(telemetry.registry);
  });

  it('reports a label value shaped like a JID, or too long, as "other"', async () => {
    const telemetry = new PrometheusTelemetry();
    telemetry.limitEnforced('alice@localhost');
    telemetry.streamError('x'.repeat(100));
    telemetry.limitEnforced('max_stanza_bytes');
    const scrape = await read(telemetry);
    expect(valueOf(scrape, 'rookery_limits_enforced_total', { limit: 'other' })).toBe(1);
    expect(valueOf(scrape, 'rookery_limits_enforced_total', { limit: 'max_stanza_bytes' })).toBe(1);
    expect(valueOf(scrape, 'rookery_stream_errors_total', { condition: 'other' })).toBe(1);
  });

  it('caps the distinct values a free-form label can take, counting the rest as "other"', async () => {
    const telemetry = new PrometheusTelemetry();
    for (let i = 0; i < 40; i++) telemetry.job(`job-${i}`, 'completed');
    telemetry.job('job-0', 'failed');
    const scrape = await read(telemetry);
    const jobs = new Set(scrape.samples.filter((sample) => sample.name === 'rookery_jobs_total').map((sample) => sample.labels.job_name));
    expect(jobs.size).toBe(33);
    expect(valueOf(scrape, 'rookery_jobs_total', { job_name: 'other' })).toBe(8);
    expect(valueOf(scrape, 'rookery_jobs_total', { job_name: 'job-0', outcome: 'failed' })).toBe(1);
  });

  it('counts stream management events and sums the hibernating callbacks at scrape time', async () => {
    const telemetry = new PrometheusTelemetry();
    telemetry.smEnabled();
    telemetry.smEnabled();
    telemetry.smResumed();
    telemetry.smResumeFailed('item-not-found');
    let hibernating = 3;
    const unregister = telemetry.hibernating(() => hibernating);
    telemetry.hibernating(() => 1);
    let scrape = await read(telemetry);
    expect(valueOf(scrape, 'rookery_sm_enabled_total')).toBe(2);
    expect(valueOf(scrape, 'rookery_sm_resumed_total')).toBe(1);
    expect(valueOf(scrape, 'rookery_sm_resume_failures_total', { reason: 'item-not-found' })).toBe(1);
    expect(valueOf(scrape, 'rookery_sm_hibernating_sessions')).toBe(4);
    hibernating = 7;
    expect(valueOf(await read(telemetry), 'rookery_sm_hibernating_sessions')).toBe(8);
    unregister();
    scrape = await read(telemetry);
    expect(valueOf(scrape, 'rookery_sm_hibernating_sessions')).toBe(1);
  });

  it('counts the node snapshot connections by state and transport, with zeros for the rest', async () => {
    const telemetry = new PrometheusTelemetry();
    const connections = [
      { state: 'c2s', transport: 'starttls' },
      { state: 'c2s', transport: 'starttls' },
      { state: 'c2s_unbound', transport: 'directtls' },
    ] as const;
    telemetry.observeNode(() => ({ connections }));
    const scrape = await read(telemetry);
    expect(valueOf(scrape, 'rookery_connections', { state: 'c2s', transport: 'starttls' })).toBe(2);
    expect(valueOf(scrape, 'rookery_connections', { state: 'c2s_unbound', transport: 'directtls' })).toBe(1);
    expect(valueOf(scrape, 'rookery_connections', { state: 'c2s_unauthed', transport: 'plain' })).toBe(0);
    expect(valueOf(scrape, 'rookery_connections', { state: 'c2s', transport: 'websocket' })).toBe(0);
    // 3 states × 4 transports (plain, starttls, directtls, websocket).
    expect(scrape.samples.filter((sample) => sample.name === 'rookery_connections')).toHaveLength(12);
  });

  it('exports the cluster-wide figures from the node first in the sorted live list only', async () => {
    const live = ['node-b', 'node-c', 'node-a'];
    const [a, b] = [new PrometheusTelemetry(), new PrometheusTelemetry()];
    a.observeCluster(source('node-a', live));
    b.observeCluster(source('node-b', live));
    const fromA = await read(a);
    const fromB = await read(b);
    expect([valueOf(fromA, 'rookery_cluster_nodes'), valueOf(fromA, 'rookery_cluster_sessions'), valueOf(fromA, 'rookery_cluster_accounts')]).toEqual([3, 5, 12]);
    expect(fromB.families.has('rookery_cluster_nodes')).toBe(true);
    expect(['rookery_cluster_nodes', 'rookery_cluster_sessions', 'rookery_cluster_accounts'].filter((name) => hasSample(fromB, name))).toEqual([]);
  });

  it('exports no cluster-wide figure from a node that is not live, or when reading them fails', async () => {
    const evicted = new PrometheusTelemetry();
    evicted.observeCluster(source('node-a', ['node-b']));
    expect(hasSample(await read(evicted), 'rookery_cluster_nodes')).toBe(false);
    const failing = new PrometheusTelemetry();
    failing.observeCluster(source('node-a', ['node-a'], { sessions: () => Promise.reject(new Error('Redis is gone')) }));
    const scrape = await read(failing);
    expect(hasSample(scrape, 'rookery_cluster_sessions')).toBe(false);
    expect(hasSample(scrape, 'rookery_cluster_nodes')).toBe(false);
  });

  it('reads the cluster-wide figures once per scrape, for all three gauges', async () => {
    const telemetry = new PrometheusTelemetry();
    let reads = 0;
    telemetry.observeCluster(source('node-a', ['node-a'], { liveNodes: async () => (reads++, ['node-a']) }));
    await read(telemetry);
    expect(reads).toBe(1);
  });

  it('ignores a negative or non-finite cross-node latency (clock skew) instead of recording it', async () => {
    const telemetry = new PrometheusTelemetry();
    telemetry.crossNodeLatency(0.004);
    telemetry.crossNodeLatency(-1);
    telemetry.crossNodeLatency(Number.NaN);
    expect(valueOf(await read(telemetry), 'rookery_cross_node_delivery_seconds_count')).toBe(1);
  });

  it('has a no-op twin, noTelemetry, whose hibernating registration also returns an unregister function', () => {
    const unregister = noTelemetry.hibernating(() => 1);
    expect(typeof unregister).toBe('function');
    expect(unregister()).toBeUndefined();
  });
});
