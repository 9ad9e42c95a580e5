// Everything a node needs from Redis to be part of a cluster: the shared state, change notices,
// its inbox, its heartbeat, and the dead-node sweep. Built here, wired by src/main.ts.
import type { StateBackend } from '../src/state/backend.js';
import type { Telemetry } from '../src/telemetry.js';
import { BullJobScheduler } from './jobs/scheduler.js';
import { DeadNodeSweeper } from './jobs/sweeper.js';
import { RedisNodeBus } from './redis/bus.js';
import { RedisChangeFeed } from './redis/changes.js';
import { closeRedis, connectRedis, createRedisClient, type RedisClient } from './redis/connection.js';
import { openRedisBackend } from './redis/index.js';
import { checkDeployment } from './redis/deployment.js';
import { KeyBuilder } from './redis/keys.js';
import { NodeLiveness } from './redis/liveness.js';

export interface ClusterOptions {
  url: string;
  prefix: string;
  cluster: boolean;
  password: string | undefined;
  nodeId: string;
  /** The domain this node serves: checked against (or written as) the prefix's deployment record. */
  domain: string;
  heartbeatMs: number;
  deadAfterMs: number;
  sweepEveryMs: number;
  onError(error: unknown): void;
  /** Change notices in and out, maintenance job outcomes. */
  telemetry?: Telemetry;
}

export interface ClusterServices {
  state: StateBackend;
  feed: RedisChangeFeed;
  bus: RedisNodeBus;
  /**
   * Heartbeats; `onEvicted` runs when this node finds it was declared dead. `onStoreLost` runs
   * when Redis may have lost data (a heartbeat found the epoch gone, or the connection came
   * back): the node writes back what it holds. Runs are never concurrent; one asked for
   * meanwhile runs after.
   */
  startLiveness(onEvicted: () => Promise<void>, onStoreLost?: () => Promise<void>): Promise<NodeLiveness>;
  /** Starts the BullMQ dead-node sweep; `cleanUp` runs once per dead node, on one node. */
  startSweeper(cleanUp: (node: string) => Promise<unknown>): Promise<DeadNodeSweeper>;
  /** Delayed jobs on BullMQ (hibernation expiry); its worker starts with startJobs(). */
  jobs: BullJobScheduler;
  /** Starts this node's job worker, once every module has registered its handlers. */
  startJobs(): void;
  /** Resolves when Redis answers PING (for the readiness probe). */
  ping(): Promise<void>;
  /** The live nodes' ids; empty until liveness has started. */
  liveNodes(): Promise<string[]>;
  /** When `node` last wrote its heartbeat; undefined when it is not live (or liveness has not started). */
  lastBeat(node: string): Promise<number | undefined>;
  /** Stops taking work from the cluster (inbox, jobs, sweeps) while the state stays usable. */
  stopIntake(): Promise<void>;
  /** Stops in reverse order of starting; idempotent. */
  close(): Promise<void>;
}

const CLOSE_STEP_MS = 3000;

function boundedStep(promise: Promise<unknown>, ms: number, onError: (error: unknown) => void): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise((resolve) => {
    timer = setTimeout(resolve, ms);
    timer.unref();
  });
  return Promise.race([promise.catch(onError), late]).finally(() => clearTimeout(timer));
}

/** Runs `task` once at a time; calls made while it runs lead to one more run after it. */
function coalesced(task: () => Promise<void>, onError: (error: unknown) => void): () => Promise<void> {
  let running: Promise<void> | undefined;
  let again = false;
  const run = (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await task().catch(onError);
      } while (again);
    })().finally(() => (running = undefined));
    return running;
  };
  return run;
}

export async function connectCluster(options: ClusterOptions): Promise<ClusterServices> {
  const keys = new KeyBuilder(options.prefix);
  const client: RedisClient = await connectRedis(options.url, {
    cluster: options.cluster,
    onError: options.onError,
    ...(options.password !== undefined ? { password: options.password } : {}),
  });
  try {
    await checkDeployment(client, keys, { domain: options.domain, record: true });
  } catch (error) {
    client.disconnect();
    throw error;
  }
  const state = await openRedisBackend(client, keys, async () => {});
  const feed = new RedisChangeFeed(client, keys, options.telemetry);
  await feed.start();
  let liveness: NodeLiveness | undefined;
  const bus = new RedisNodeBus(client, keys, options.nodeId, {
    onError: options.onError,
    mayBeEvicted: () => liveness?.mayBeEvicted() ?? false,
    heartbeatVerdict: () => liveness?.verdict(options.deadAfterMs) ?? Promise.resolve(),
  });
  let sweeper: DeadNodeSweeper | undefined;
  // BullMQ blocks on its connections, so it gets its own (with the retry setting it requires).
  const bullConnection: RedisClient = createRedisClient(options.url, {
    cluster: options.cluster,
    maxRetriesPerRequest: null,
    ...(options.password !== undefined ? { password: options.password } : {}),
  });
  bullConnection.on('error', options.onError);
  const jobs = new BullJobScheduler({
    connection: bullConnection,
    prefix: `{${keys.jobsPrefix()}}`,
    onError: options.onError,
    onOutcome: (name, outcome) => options.telemetry?.job(name, outcome),
  });
  let jobsStarted = false;
  let closing: Promise<void> | undefined;
  return {
    state,
    feed,
    bus,
    jobs,
    startJobs() {
      if (jobsStarted) return;
      jobsStarted = true;
      jobs.start();
    },
    async startLiveness(onEvicted, onStoreLost = async () => {}) {
      const restore = coalesced(async () => {
        // The job schedule lives in Redis too: every node upserts the same one.
        await sweeper?.schedule();
        await onStoreLost();
        options.telemetry?.stateRestored();
      }, options.onError);
      liveness = new NodeLiveness(
        client, keys, options.nodeId,
        { heartbeatMs: options.heartbeatMs, deadAfterMs: options.deadAfterMs },
        onEvicted, options.onError, restore,
      );
      await liveness.start();
      let connected = true;
      client.on('close', () => (connected = false));
      client.on('ready', () => {
        // A reconnect: a Sentinel or Cluster failover may have promoted a replica that missed writes.
        if (!connected) void restore();
        connected = true;
      });
      return liveness;
    },
    async startSweeper(cleanUp) {
      if (!liveness) throw new Error('start liveness before the sweeper');
      const connection = bullConnection;
      sweeper = new DeadNodeSweeper(liveness, cleanUp, {
        connection,
        prefix: `{${keys.jobsPrefix()}}`,
        everyMs: options.sweepEveryMs,
        onError: options.onError,
        telemetry: options.telemetry,
      });
      await sweeper.start();
      return sweeper;
    },
    async ping() {
      await client.ping();
    },
    async liveNodes() {
      return liveness ? liveness.liveNodes() : [];
    },
    async lastBeat(node) {
      return liveness ? liveness.lastBeat(node) : undefined;
    },
    async stopIntake() {
      const step = (promise: Promise<unknown>): Promise<unknown> => boundedStep(promise, CLOSE_STEP_MS, options.onError);
      await step(sweeper?.close() ?? Promise.resolve());
      await step(jobs.close());
      await step(bus.close());
    },
    close() {
      // Each step is bounded: with Redis unreachable, a clean step would wait for it forever,
      // and a node being stopped must still exit within its grace period.
      const step = (promise: Promise<unknown>): Promise<unknown> => boundedStep(promise, CLOSE_STEP_MS, options.onError);
      closing ??= (async () => {
        await step(sweeper?.close() ?? Promise.resolve());
        await step(jobs.close());
        await step(closeRedis(bullConnection));
        await step(liveness?.stop() ?? Promise.resolve());
        await step(bus.close());
        await step(feed.close());
        await step(closeRedis(client));
        bullConnection.disconnect();
        client.disconnect();
      })();
      return closing;
    },
  };
}
