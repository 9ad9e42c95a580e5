// A rolling update of the chart acted out on local processes, as the kubelet would run it: the node
// runs with the environment `helm template` renders (ConfigMap, Secret and downward API resolved),
// the image's ENV and entrypoint and the container's args; the probes are polled on the rendered
// paths and ports; the replacement pod is ready before the old one is terminated (maxSurge 1,
// maxUnavailable 0); the old pod's preStop hook runs, then SIGTERM, and it must drain and exit
// within terminationGracePeriodSeconds while its clients move to the replacement.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { get } from 'node:http';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { closeRedis, connectRedis, scanKeys } from '../../cluster/redis/connection.js';
import { createRedisBackend } from '../../cluster/redis/index.js';
import { createAccount } from '../../src/core/accounts.js';
import { loadConfig } from '../../src/config.js';
import type { StateBackend } from '../../src/state/backend.js';
import { RawClient, xml } from '../support/client.js';
import { freePorts } from '../support/cluster.js';
import {
  type Container,
  containerArgv,
  containerEnv,
  deploymentContainer,
  deploymentPodSpec,
  findObject,
  type HttpProbe,
  imageConfig,
  type K8sObject,
  type LifecycleHandler,
  renderChart,
  REPO_ROOT,
} from '../support/helm.js';
import { NS_SM, SmClient } from '../support/sm-client.js';

/**
 * The only rendered variables the pods get changed, each for a reason a laptop imposes. Everything
 * else the chart renders (including settings it gains later) reaches the node as rendered.
 */
const OVERRIDES: Record<string, string> = {
  ROOKERY_NODE_ID: 'the downward API (metadata.name) is not here: a pod name is made up as a ReplicaSet would',
  ROOKERY_BIND_ADDRESS: 'the pod address 0.0.0.0 would listen on every interface of this machine: loopback instead',
  ROOKERY_C2S_PORT: 'a pod has its own network namespace: a free loopback port per pod instead',
  ROOKERY_C2S_TLS_PORT: 'likewise',
  ROOKERY_HTTP_PORT: 'likewise; the probes are mapped to it through the container port',
  ROOKERY_S2S_PORT: 'likewise',
};
/** Which variable tells the node each container port. */
const PORT_ENV: Record<string, string> = { c2s: 'ROOKERY_C2S_PORT', 'c2s-tls': 'ROOKERY_C2S_TLS_PORT', http: 'ROOKERY_HTTP_PORT', s2s: 'ROOKERY_S2S_PORT' };
/** What the node needs after its drain to close Redis and exit; the grace period must leave at least this. */
const MIN_MARGIN_MS = 2000;
/** The kubelet polls at the probes' periods; polling faster only makes the test quicker. */
const POLL_MS = 50;
/** A mobile client on a slow link answers the drain's last ack request this late (within the node's ack wait). */
const SLOW_ACK_MS = 1000;
const PASSWORD = 'rollout-secret';

type ProbeResult = number | 'no connection' | 'timeout';
interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  at: number;
}
interface LogEvent {
  event?: string;
  time: number;
  [field: string]: unknown;
}
interface Sample {
  at: number;
  ready: ProbeResult;
  live: ProbeResult;
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
/** The kubelet's rule: an HTTP probe succeeds on 200-399. */
const succeeded = (result: ProbeResult): boolean => typeof result === 'number' && result >= 200 && result < 400;

function httpGet(port: number, path: string, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const request = get({ host: '127.0.0.1', port, path, agent: false, timeout: timeoutMs }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on('timeout', () => {
      request.destroy();
      resolve('timeout');
    });
    request.on('error', () => resolve('no connection'));
  });
}

/** A node process started as the container would be, on loopback ports of its own. */
class Pod {
  output = '';
  readonly exited: Promise<Exit>;
  private exit: Exit | undefined;
  private readonly child: ChildProcess;

  constructor(
    readonly name: string,
    readonly container: Container,
    /** Container port name → the loopback port standing in for it. */
    readonly ports: Map<string, number>,
    readonly env: Record<string, string>,
    argv: string[],
  ) {
    const [program, ...args] = argv;
    this.child = spawn(executable(program), args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => {
        this.exit = { code, signal, at: Date.now() };
        resolve(this.exit);
      }),
    );
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  /** The loopback port of a container port given by name or number. */
  port(port: string | number): number {
    const declared = this.container.ports?.find((p) => p.name === port || p.containerPort === port);
    const local = declared?.name !== undefined ? this.ports.get(declared.name) : undefined;
    if (local === undefined) throw new Error(`the container declares no port ${port}`);
    return local;
  }

  probe(probe: HttpProbe | undefined): Promise<ProbeResult> {
    if (!probe?.httpGet) throw new Error('not an httpGet probe');
    return httpGet(this.port(probe.httpGet.port), probe.httpGet.path, (probe.timeoutSeconds ?? 1) * 1000);
  }

  /** Polls the probe until it succeeds; fails if the process exits first. */
  async until(probe: HttpProbe | undefined, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!succeeded(await this.probe(probe))) {
      if (!this.running) throw new Error(`pod ${this.name} exited while starting:\n${this.output}`);
      if (Date.now() > deadline) throw new Error(`pod ${this.name}: ${probe?.httpGet?.path} did not succeed within ${timeoutMs} ms:\n${this.output}`);
      await delay(POLL_MS);
    }
  }

  /** The node's structured log lines with this event key. */
  events(event: string): LogEvent[] {
    return this.output
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as LogEvent)
      .filter((line) => line.event === event);
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }
}

/** The container runs `node` from the image; here, the node running the tests. */
function executable(program: string | undefined): string {
  if (program !== 'node') throw new Error(`the container runs ${program}, not node: this test cannot run it`);
  return process.execPath;
}

/** Runs a preStop hook as the kubelet does (exec: in the container, with its environment); resolves with its exit code. */
async function runHook(hook: LifecycleHandler, pod: Pod): Promise<number | null> {
  if (hook.sleep) {
    await delay(hook.sleep.seconds * 1000);
    return 0;
  }
  if (!hook.exec) throw new Error(`unsupported preStop hook ${JSON.stringify(hook)}`);
  const [program, ...args] = hook.exec.command;
  const child = spawn(executable(program), args, { cwd: REPO_ROOT, env: pod.env, stdio: 'ignore' });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => resolve(code));
  });
}

/** Probes readiness and liveness together until the pod exits. */
async function sampleUntilExit(pod: Pod, readiness: HttpProbe | undefined, liveness: HttpProbe | undefined): Promise<Sample[]> {
  const samples: Sample[] = [];
  let gone = false;
  void pod.exited.then(() => (gone = true));
  while (!gone) {
    const at = Date.now();
    const [ready, live] = await Promise.all([pod.probe(readiness), pod.probe(liveness)]);
    if (!gone) samples.push({ at, ready, live });
    await delay(POLL_MS);
  }
  return samples;
}

/** The rendered environment with only the OVERRIDES changed, after the image's ENV (which the container's env overrides). */
function podEnvironment(image: Record<string, string>, rendered: Record<string, string>, name: string, ports: Map<string, number>): Record<string, string> {
  const overrides: Record<string, string> = { ROOKERY_NODE_ID: name, ROOKERY_BIND_ADDRESS: '127.0.0.1' };
  for (const [portName, local] of ports) overrides[PORT_ENV[portName] as string] = String(local);
  return { ...image, ...rendered, ...overrides };
}

/** A pod name as a ReplicaSet gives one: <deployment>-<template hash>-<5 characters>. */
function podName(deployment: string): string {
  return `${deployment}-${randomBytes(5).toString('hex')}-${randomBytes(3).toString('hex').slice(0, 5)}`;
}

describe('a rolling update of the chart, acted out on local processes', () => {
  const redisUrl = inject('redisUrl');
  const prefix = `rkr${randomBytes(4).toString('hex')}`;
  let objects: K8sObject[];
  let container: Container;
  let rendered: Record<string, string>;
  let grace: number;
  let image: ReturnType<typeof imageConfig>;
  let state: StateBackend;
  let oldPod: Pod;
  let newPod: Pod;
  let desk: RawClient;
  let phone: SmClient;
  let domain: string;
  const clients: { destroy(): void }[] = [];
  const pods: Pod[] = [];

  const startPod = async (): Promise<Pod> => {
    const names = (container.ports ?? []).map((p) => p.name as string);
    const local = await freePorts(names.length);
    const ports = new Map(names.map((name, i) => [name, local[i] as number]));
    const name = podName(findObject(objects, 'Deployment').metadata.name);
    const pod = new Pod(name, container, ports, podEnvironment(image.env, rendered, name, ports), containerArgv(image, container));
    pods.push(pod);
    return pod;
  };

  /** What the kubelet waits for: the startup probe, then readiness; liveness holds too. */
  const becomeReady = async (pod: Pod): Promise<void> => {
    const startup = container.startupProbe;
    await pod.until(startup, (startup?.periodSeconds ?? 10) * (startup?.failureThreshold ?? 3) * 1000);
    await pod.until(container.readinessProbe, 20_000);
    expect(await pod.probe(container.livenessProbe)).toBe(200);
  };

  beforeAll(async () => {
    objects = renderChart({ redis: { url: redisUrl, prefix } });
    container = deploymentContainer(objects);
    rendered = containerEnv(objects);
    // Kubernetes' default when the chart sets none.
    grace = deploymentPodSpec(objects).terminationGracePeriodSeconds ?? 30;
    image = imageConfig();
    domain = rendered.ROOKERY_DOMAIN ?? 'localhost';
    state = await createRedisBackend({ url: redisUrl, prefix });
    await createAccount(state, `alice@${domain}`, PASSWORD);
    await createAccount(state, `bob@${domain}`, PASSWORD);
  });

  afterAll(async () => {
    for (const client of clients) client.destroy();
    for (const pod of pods) if (pod.running) pod.signal('SIGKILL');
    await Promise.all(pods.map((pod) => pod.exited));
    await state?.close();
    const redis = await connectRedis(redisUrl);
    try {
      // The state's keys and BullMQ's (under a hash tag).
      for (const pattern of [`${prefix}:*`, `{${prefix}:*`]) {
        for await (const key of scanKeys(redis, pattern)) await redis.unlink(key);
      }
    } finally {
      await closeRedis(redis);
    }
  });

  it('gives the node every rendered variable, changing only the fixed set a laptop needs, and the node reads each one', () => {
    const env = podEnvironment(image.env, rendered, 'rookery-0123456789-abcde', new Map((container.ports ?? []).map((p) => [p.name as string, 1])));
    const changed = Object.keys(rendered).filter((key) => env[key] !== rendered[key]);
    expect(changed.sort()).toEqual(Object.keys(OVERRIDES).sort());
    // A value the kubelet would fill in and this test cannot (a new downward API field, an existing Secret) fails here.
    for (const [key, value] of Object.entries(env)) expect(value, key).not.toMatch(/^(fieldRef|resourceFieldRef|configMapKeyRef|secretKeyRef):/);
    // Nor may a variable name a file from a volume only the pod has (a mounted Secret or ConfigMap).
    const mounted = (deploymentPodSpec(objects).volumes ?? []).filter((v) => !('emptyDir' in v)).map((v) => container.volumeMounts?.find((m) => m.name === v.name)?.mountPath);
    for (const path of mounted) for (const [key, value] of Object.entries(env)) expect(value.startsWith(String(path)), key).toBe(false);
    // The chart's redis.url and redis.prefix took the test's Redis.
    expect(rendered).toMatchObject({ ROOKERY_REDIS_URL: redisUrl, ROOKERY_REDIS_PREFIX: prefix });
    // Every container port is told to the node by the variable the test maps, with the same number.
    expect((container.ports ?? []).map((p) => p.name).sort()).toEqual(Object.keys(PORT_ENV).sort());
    for (const port of container.ports ?? []) expect(rendered[PORT_ENV[port.name as string] as string]).toBe(String(port.containerPort));
    // Every variable the chart sets is read by the node's configuration (the one place that reads the environment).
    const read = new Set<string>();
    const watched = new Proxy(env, {
      get: (target, key) => {
        if (typeof key === 'string') read.add(key);
        return Reflect.get(target, key) as unknown;
      },
    });
    loadConfig({ env: watched });
    expect(Object.keys(rendered).filter((key) => !read.has(key))).toEqual([]);
    expect(containerArgv(image, container)).toEqual(['node', 'bin/rookery.js', 'start']);
  });

  it('starts the replacement pod before terminating the old one, and each answers its startup, readiness and liveness probes', async () => {
    const strategy = (findObject(objects, 'Deployment').spec as { strategy: { rollingUpdate: { maxUnavailable: number; maxSurge: number } } }).strategy;
    expect(strategy.rollingUpdate).toEqual({ maxUnavailable: 0, maxSurge: 1 });
    for (const probe of [container.startupProbe, container.readinessProbe, container.livenessProbe]) expect(probe?.httpGet?.path).toMatch(/^\//);
    // Started together: the old pod stands for one of the last revision, already running.
    [oldPod, newPod] = await Promise.all([startPod(), startPod()]);
    await Promise.all([becomeReady(oldPod), becomeReady(newPod)]);
    expect(await oldPod.probe(container.readinessProbe)).toBe(200);
  }, 40_000);

  it('on preStop then SIGTERM leaves readiness at once, stays live through the drain, hands its clients over and exits 0 within the grace period', async ({ onTestFailed }) => {
    onTestFailed(() => console.log(`===== old pod\n${oldPod.output}\n===== new pod\n${newPod.output}`));
    const c2s = oldPod.port('c2s');
    desk = await RawClient.connect({ port: c2s, domain });
    clients.push(desk);
    await desk.login('alice', PASSWORD, 'desk');
    phone = await SmClient.login({ port: c2s, domain, username: 'bob', password: PASSWORD, resource: 'phone' });
    clients.push(phone);
    desk.send(`<message to='${phone.jid}' type='chat' id='m1'><body>before</body></message>`);
    await phone.expect(xml`<message id='m1'/>`);
    // A slow link: the answer to the drain's last ack request arrives late, so the drain lasts a while.
    const raw = phone.raw as RawClient;
    const handle = raw.onElement as NonNullable<RawClient['onElement']>;
    raw.onElement = (element) => {
      if (element.name !== 'r' || element.attrs.xmlns !== NS_SM) return handle(element);
      setTimeout(() => handle(element), SLOW_ACK_MS);
      return true;
    };

    // The kubelet: preStop first, counted in the grace period; the node keeps serving meanwhile.
    const preStop = container.lifecycle?.preStop;
    const terminating = Date.now();
    const hook = preStop ? runHook(preStop, oldPod) : Promise.resolve(0);
    await desk.barrier();
    await phone.barrier();
    expect(await oldPod.probe(container.readinessProbe)).toBe(200);
    await expect(hook).resolves.toBe(0);
    const preStopMs = Date.now() - terminating;

    // The chart and the node agree: the grace period covers the preStop wait, the node's drain bound and a margin.
    const drainMs = loadConfig({ env: oldPod.env }).drainTimeoutSeconds * 1000;
    expect(grace * 1000).toBeGreaterThanOrEqual(preStopMs + drainMs + MIN_MARGIN_MS);

    const sigterm = Date.now();
    oldPod.signal('SIGTERM');
    const samples = sampleUntilExit(oldPod, container.readinessProbe, container.livenessProbe);
    const exit = await Promise.race([oldPod.exited, delay(grace * 1000 - (sigterm - terminating)).then(() => undefined)]);
    // The kubelet would have sent SIGKILL by now.
    expect(exit, 'exited within terminationGracePeriodSeconds').toBeDefined();
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect((exit as Exit).at - terminating).toBeLessThanOrEqual(grace * 1000);

    const seen = await samples;
    const firstUnready = seen.findIndex((sample) => !succeeded(sample.ready));
    expect(firstUnready).toBeGreaterThanOrEqual(0);
    // Out of the endpoints by the kubelet's next readiness probe after SIGTERM, and never back.
    expect((seen[firstUnready] as Sample).at - sigterm).toBeLessThanOrEqual((container.readinessProbe?.periodSeconds ?? 10) * 1000);
    expect(seen.slice(firstUnready).filter((sample) => succeeded(sample.ready))).toEqual([]);
    // Live throughout the drain: 200 while readiness said 503, then no connection once the node stops listening.
    expect(seen.filter((sample) => sample.ready === 503 && sample.live === 200).length).toBeGreaterThan(0);
    expect(seen.filter((sample) => sample.live !== 200 && sample.live !== 'no connection')).toEqual([]);
    const firstDown = seen.findIndex((sample) => sample.live === 'no connection');
    if (firstDown >= 0) expect(seen.slice(firstDown).filter((sample) => sample.live === 200)).toEqual([]);
    const [drained] = oldPod.events('drained');
    expect(drained).toMatchObject({ sessions: 2, timedOut: false });
    expect(seen.filter((sample) => sample.live === 200).at(-1)?.at).toBeGreaterThanOrEqual((oldPod.events('draining')[0] as LogEvent).time);
    // What remains after the drain fits in the margin the chart leaves.
    expect((exit as Exit).at - (drained as LogEvent).time).toBeLessThan(grace * 1000 - preStopMs - drainMs);

    // Without stream management: <system-shutdown/>, then the stream and the connection closed.
    expect(desk.streamError()).toBe('system-shutdown');
    await desk.closed();
    expect(desk.streamClosed).toBe(true);
    // With it: the last ack request answered, the connection closed without a stream error, the session parked.
    await phone.reached(['offline']);
    expect(phone.requestsAnswered).toBeGreaterThanOrEqual(1);
    expect(phone.errors).toEqual([]);
    await expect(state.registry.get(phone.jid as string)).resolves.toMatchObject({ node: '~parked', sm_token: phone.smId });
  }, 45_000);

  it('lets both clients carry on on the replacement pod: one logs in again, the other resumes and gets what was sent meanwhile', async () => {
    const c2s = newPod.port('c2s');
    const again = await RawClient.connect({ port: c2s, domain });
    clients.push(again);
    expect(await again.login('alice', PASSWORD, 'desk')).toBe(desk.jid);
    again.send(`<message to='${phone.jid}' type='chat' id='m2'><body>after</body></message>`);
    await again.barrier();
    await expect(phone.resume(c2s, false)).resolves.toBe(true);
    await phone.expect(xml`<message id='m2'/>`);
    await phone.close();
    await again.close();
    newPod.signal('SIGTERM');
    await expect(newPod.exited).resolves.toMatchObject({ code: 0 });
  }, 20_000);
});
