// The upgrade-safety run (test/rolling/upgrade-safety.test.ts) at scale, not in CI: pairs of a
// slixmpp client and one of ours through HAProxy, a rolling restart, then kill -9 of a node
// (replaced); prints the figures of each and the time from the kill until the killed node's
// clients were resumed (p50/p99). doc/upgrade-safety.md says what the figures mean.
//
//   node --import tsx bench/upgrade-safety.ts --pairs 500 --slix 100
//   (1,000 clients, of which 100 slixmpp ones: one python3 process each, about 30 MB apiece)
import { parseArgs } from 'node:util';
import { waitFor } from '../tools/local-cluster.js';
import { formatFigures, MixedLoad } from '../test/rolling/mixed-load.js';

const { values } = parseArgs({ options: { pairs: { type: 'string', default: '500' }, slix: { type: 'string', default: '100' }, scenarios: { type: 'string' }, interval: { type: 'string', default: '500' } } });
const pairs = Number(values.pairs);
const slixPairs = Number(values.slix);
const intervalMs = Number(values.interval);
const env = { ROOKERY_HEARTBEAT_MS: '500', ROOKERY_NODE_DEAD_AFTER_MS: '5000', ROOKERY_SWEEP_EVERY_MS: '500' };
const log = (line: string): void => console.error(`[${new Date().toISOString().slice(11, 23)}] ${line}`);
const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;

async function rolling(): Promise<void> {
  const load = await MixedLoad.start({ pairs, slixPairs, nodes: 3, intervalMs, env, log });
  try {
    load.startTraffic();
    await waitFor(() => load.sent >= pairs * 6, 60_000, 'messages flowing');
    for (let index = 0; index < load.cluster.nodes.length; index++) {
      log(`node${index}: drained in ${await load.cluster.stopNode(index)} ms`);
      await load.cluster.startNode(index);
      const sent = load.sent;
      await waitFor(() => load.sent >= sent + pairs * 2, 60_000, 'traffic').catch(() => undefined);
    }
    console.log(`rolling restart, ${pairs * 2} clients:\n${formatFigures(await load.settle(60_000))}`);
  } finally {
    await load.stop();
  }
}

async function kill(): Promise<void> {
  const load = await MixedLoad.start({ pairs, slixPairs, nodes: 3, intervalMs, env, log });
  try {
    load.startTraffic();
    await waitFor(() => load.sent >= pairs * 6, 60_000, 'messages flowing');
    const victims = await load.clientsOn(load.cluster.nodes[0]!.id);
    const before = new Map(victims.map((client) => [client.index, client.resumes()]));
    const killedAt = Date.now();
    await load.cluster.killNode(0);
    await load.cluster.startNode(0);
    const resumed = (client: (typeof victims)[number]): boolean => client.resumes() > (before.get(client.index) ?? 0);
    await waitFor(() => victims.every(resumed), 60_000, 'the killed node\'s clients resumed').catch((error: unknown) => log(String(error)));
    const times = victims.filter(resumed).map((client) => client.resumedAt() - killedAt).sort((a, b) => a - b);
    const figures = await load.settle(60_000);
    console.log(`kill -9, ${pairs * 2} clients, ${victims.length} on the killed node (${times.length} resumed):`);
    console.log(`kill to resumed    p50 ${percentile(times, 50)} ms, p99 ${percentile(times, 99)} ms, max ${times.at(-1)} ms`);
    console.log(formatFigures(figures));
  } finally {
    await load.stop();
  }
}

/** Redis killed during traffic and restarted from its append-only file 3 s later. */
async function redis(): Promise<void> {
  const load = await MixedLoad.start({ pairs, slixPairs, nodes: 3, intervalMs, env, log, redisAppendOnly: true });
  try {
    load.startTraffic();
    await waitFor(() => load.sent >= pairs * 6, 60_000, 'messages flowing');
    await load.cluster.restartRedis(3000);
    const sent = load.sent;
    await waitFor(() => load.sent >= sent + pairs * 6, 60_000, 'traffic').catch(() => undefined);
    console.log(`redis restarted from its AOF, ${pairs * 2} clients:\n${formatFigures(await load.settle(60_000))}`);
  } finally {
    await load.stop();
  }
}

/** A node frozen (SIGSTOP) for 8 s, past the dead-after bound of 5 s, then let go on. */
async function freeze(): Promise<void> {
  const load = await MixedLoad.start({ pairs, slixPairs, nodes: 3, intervalMs, env, log });
  try {
    load.startTraffic();
    await waitFor(() => load.sent >= pairs * 6, 60_000, 'messages flowing');
    const victims = await load.clientsOn(load.cluster.nodes[1]!.id);
    const before = new Map(victims.map((client) => [client.index, client.resumes()]));
    const frozenAt = Date.now();
    load.cluster.freezeNode(1);
    await new Promise((resolve) => setTimeout(resolve, 8000));
    load.cluster.thawNode(1);
    const resumed = (client: (typeof victims)[number]): boolean => client.resumes() > (before.get(client.index) ?? 0);
    await waitFor(() => victims.every(resumed), 60_000, 'the frozen node\'s clients resumed').catch((error: unknown) => log(String(error)));
    const times = victims.filter(resumed).map((client) => client.resumedAt() - frozenAt).sort((a, b) => a - b);
    const figures = await load.settle(60_000);
    console.log(`SIGSTOP for 8 s, ${pairs * 2} clients, ${victims.length} on the frozen node (${times.length} resumed):`);
    console.log(`freeze to resumed  p50 ${percentile(times, 50)} ms, p99 ${percentile(times, 99)} ms, max ${times.at(-1)} ms`);
    console.log(formatFigures(figures));
  } finally {
    await load.stop();
  }
}

const scenarios: Record<string, () => Promise<void>> = { rolling, kill, redis, freeze };
for (const name of (values.scenarios ?? 'rolling,kill,redis,freeze').split(',')) {
  const run = scenarios[name];
  if (!run) throw new Error(`unknown scenario ${name}: pick from ${Object.keys(scenarios).join(', ')}`);
  await run();
}
process.exit(0);
