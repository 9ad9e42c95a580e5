// The HTTP listener of a real node (startNode, the composition root): probes and /metrics, and
// the metrics moving as clients log in, fail to, and chat. On both stores.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { type RawClient, xml } from '../support/client.js';
import { type MetricsNode, PASSWORD, startMetricsNode, valueOf } from './support.js';

const BACKENDS = ['memory', 'redis'] as const;

const FAMILIES = [
  'rookery_connections',
  'rookery_authentications_total',
  'rookery_stanzas_received_total',
  'rookery_stanzas_sent_total',
  'rookery_stanzas_routed_total',
  'rookery_stream_errors_total',
  'rookery_bus_envelopes_sent_total',
  'rookery_bus_envelopes_received_total',
  'rookery_cross_node_delivery_seconds',
  'rookery_change_notices_published_total',
  'rookery_change_notices_received_total',
  'rookery_store_call_duration_seconds',
  'rookery_store_errors_total',
  'rookery_s2s_events_total',
  'rookery_component_events_total',
  'rookery_push_notifications_total',
  'rookery_sm_enabled_total',
  'rookery_sm_resumed_total',
  'rookery_sm_resume_failures_total',
  'rookery_sm_hibernating_sessions',
  'rookery_jobs_total',
  'rookery_limits_enforced_total',
  'rookery_http_responses_total',
  'rookery_cluster_nodes',
  'rookery_cluster_sessions',
  'rookery_cluster_accounts',
  'rookery_process_cpu_seconds_total',
  'rookery_nodejs_eventloop_lag_seconds',
];

describe.each(BACKENDS)('a node on the %s store', (backend) => {
  let node: MetricsNode;
  let n = 0;
  const user = async (prefix: string): Promise<string> => {
    const local = `${prefix}${++n}`;
    await node.createUser(local);
    return local;
  };

  beforeAll(async () => {
    node = await startMetricsNode(backend === 'redis' ? { redisUrl: inject('redisUrl') } : {});
  });
  afterAll(() => node.stop());

  it('answers /healthz and /readyz with 200', async () => {
    expect(await node.get('/healthz')).toMatchObject({ status: 200, text: 'ok\n' });
    expect(await node.get('/readyz')).toMatchObject({ status: 200, text: 'ready\n' });
  });

  it('serves every metric family in the Prometheus text format on /metrics, without authentication', async () => {
    const scrape = await node.scrape();
    expect(scrape.status).toBe(200);
    expect(scrape.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    for (const family of FAMILIES) expect([family, scrape.families.has(family)]).toEqual([family, true]);
    expect(scrape.families.get('rookery_store_call_duration_seconds')).toBe('histogram');
    expect(scrape.families.get('rookery_connections')).toBe('gauge');
  });

  it('counts a PLAIN login as a success and shows the bound connection in the connections gauge', async () => {
    const before = await node.scrape();
    const client = await node.login(await user('alice'));
    const after = await node.scrape();
    const success = { mechanism: 'PLAIN', outcome: 'success' };
    expect(valueOf(after, 'rookery_authentications_total', success) - valueOf(before, 'rookery_authentications_total', success)).toBe(1);
    const bound = { state: 'c2s', transport: 'starttls' };
    expect(valueOf(after, 'rookery_connections', bound) - valueOf(before, 'rookery_connections', bound)).toBe(1);
    await client.close();
    await expect.poll(async () => valueOf(await node.scrape(), 'rookery_connections', bound)).toBe(valueOf(before, 'rookery_connections', bound));
  });

  it('shows a connection that has not authenticated yet as c2s_unauthed on its transport', async () => {
    const client = await node.connect();
    await client.openStream();
    const scrape = await node.scrape();
    expect(valueOf(scrape, 'rookery_connections', { state: 'c2s_unauthed', transport: 'plain' })).toBeGreaterThanOrEqual(1);
    expect(valueOf(scrape, 'rookery_connections', { transport: 'directtls' })).toBe(0);
    client.destroy();
  });

  it('counts a wrong password as a failed PLAIN authentication', async () => {
    const local = await user('mallory');
    const before = await node.scrape();
    const client = await node.connect();
    await client.openStream();
    await client.startTls();
    await client.openStream();
    const outcome = await client.authPlain(local, 'not-the-password');
    expect(outcome.name).toBe('failure');
    const after = await node.scrape();
    const failure = { mechanism: 'PLAIN', outcome: 'failure' };
    expect(valueOf(after, 'rookery_authentications_total', failure) - valueOf(before, 'rookery_authentications_total', failure)).toBe(1);
    expect(valueOf(after, 'rookery_authentications_total', { outcome: 'success' })).toBe(valueOf(before, 'rookery_authentications_total', { outcome: 'success' }));
  });

  it('counts a chat between two local users as stanzas in and out and as local routing, and drops nothing', async () => {
    const alice = await node.login(await user('alice'));
    const bob = await node.login(await user('bob'));
    const before = await node.scrape();
    alice.send(`<message to='${bob.jid}' type='chat' id='c1'><body>Hello</body></message>`);
    await bob.expect(xml`<message from='${alice.jid}' type='chat' id='c1'/>`);
    bob.send(`<message to='${alice.jid}' type='chat' id='c2'><body>Hi</body></message>`);
    await alice.expect(xml`<message from='${bob.jid}' type='chat' id='c2'/>`);
    const after = await node.scrape();
    const delta = (name: string, labels: Record<string, string>): number => valueOf(after, name, labels) - valueOf(before, name, labels);
    expect(delta('rookery_stanzas_received_total', { kind: 'message' })).toBe(2);
    expect(delta('rookery_stanzas_sent_total', { kind: 'message' })).toBe(2);
    expect(delta('rookery_stanzas_routed_total', { outcome: 'local' })).toBe(2);
    const dropped = after.samples.filter((sample) => sample.name === 'rookery_stanzas_routed_total' && sample.labels.outcome === 'dropped');
    expect(dropped.map((sample) => sample.value)).toEqual([0]);
  });

  it('times store calls: the store call histogram has samples for the calls a login makes', async () => {
    await node.login(await user('carol'));
    const scrape = await node.scrape();
    expect(valueOf(scrape, 'rookery_store_call_duration_seconds_count', { port: 'accounts', method: 'credentials' })).toBeGreaterThan(0);
    expect(valueOf(scrape, 'rookery_store_call_duration_seconds_count', { port: 'sessions', method: 'claimWithin' })).toBeGreaterThan(0);
    expect(valueOf(scrape, 'rookery_store_call_duration_seconds_bucket', { port: 'sessions', method: 'claimWithin', le: '+Inf' })).toBeGreaterThan(0);
    expect(valueOf(scrape, 'rookery_store_errors_total')).toBe(0);
  });

  it('exports the cluster-wide figures from its only node', async () => {
    await node.login(await user('dave'));
    const scrape = await node.scrape();
    expect(valueOf(scrape, 'rookery_cluster_nodes')).toBe(1);
    expect(valueOf(scrape, 'rookery_cluster_sessions')).toBeGreaterThanOrEqual(1);
    expect(valueOf(scrape, 'rookery_cluster_accounts')).toBeGreaterThanOrEqual(n);
  });

  if (backend === 'redis') {
    it('counts the change notices it publishes and receives over Redis pub/sub', async () => {
      const before = await node.scrape();
      const client = await node.login(await user('frank'));
      await client.close();
      await expect
        .poll(async () => valueOf(await node.scrape(), 'rookery_change_notices_received_total') - valueOf(before, 'rookery_change_notices_received_total'))
        .toBeGreaterThanOrEqual(2);
      expect(valueOf(await node.scrape(), 'rookery_change_notices_published_total') - valueOf(before, 'rookery_change_notices_published_total')).toBeGreaterThanOrEqual(2);
    });

    it('counts the runs of the dead-node sweep job', async () => {
      await expect
        .poll(async () => valueOf(await node.scrape(), 'rookery_jobs_total', { job_name: 'sweep-dead-nodes', outcome: 'completed' }), { timeout: 10_000 })
        .toBeGreaterThan(0);
    });
  }

  it('counts stream management: enabled, hibernating while the connection is lost, resumed, and a refused resumption', async () => {
    const NS_SM = 'urn:xmpp:sm:3';
    const local = await user('grace');
    const before = await node.scrape();
    const delta = async (name: string, labels: Record<string, string> = {}): Promise<number> => valueOf(await node.scrape(), name, labels) - valueOf(before, name, labels);
    /** Authenticated, not bound: where a resumption is asked for. */
    const authenticated = async (): Promise<RawClient> => {
      const client = await node.connect();
      await client.openStream();
      await client.startTls();
      await client.openStream();
      expect((await client.authPlain(local, PASSWORD)).name).toBe('success');
      await client.openStream();
      return client;
    };

    const first = await node.login(local);
    first.send(`<enable xmlns='${NS_SM}' resume='true'/>`);
    const enabled = await first.expect('enabled');
    expect(await delta('rookery_sm_enabled_total')).toBe(1);
    first.destroy();
    await expect.poll(() => delta('rookery_sm_hibernating_sessions')).toBe(1);

    const second = await authenticated();
    second.send(`<resume xmlns='${NS_SM}' previd='${String(enabled.attrs.id)}' h='0'/>`);
    await second.expect('resumed');
    expect(await delta('rookery_sm_resumed_total')).toBe(1);
    expect(await delta('rookery_sm_hibernating_sessions')).toBe(0);

    const third = await authenticated();
    third.send(`<resume xmlns='${NS_SM}' previd='no-such-stream' h='0'/>`);
    await third.expect('failed');
    expect(await delta('rookery_sm_resume_failures_total', { reason: 'item-not-found' })).toBe(1);
    second.destroy();
    third.destroy();
  });

  it('puts no JID in any label value', async () => {
    await node.login(await user('erin'));
    const scrape = await node.scrape();
    const withAt = scrape.samples.filter((sample) => Object.values(sample.labels).some((value) => value.includes('@')));
    expect(withAt).toEqual([]);
    expect(scrape.samples.length).toBeGreaterThan(0);
  });

  it('answers /readyz with 503 once drain() is called, while /healthz still answers 200', async () => {
    expect(node.node.draining).toBe(false);
    await node.node.drain();
    expect(node.node.draining).toBe(true);
    const ready = await node.get('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.text).toContain('draining');
    expect((await node.get('/healthz')).status).toBe(200);
  });
});
