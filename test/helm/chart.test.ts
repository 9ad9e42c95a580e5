// The Helm chart (helm/rookery) and the Dockerfile, checked with a real helm binary: lint, render,
// validate every object against the Kubernetes schemas, and check what the pods will run with.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../../src/config.js';
import {
  CHART_DIR,
  containerEnv,
  findObject,
  helm,
  HelmError,
  type K8sObject,
  lintChart,
  REPO_ROOT,
  renderChart,
  renderedNodeEnv,
  renderNotes,
  templateChart,
  type Values,
} from '../support/helm.js';

// ---- the shapes read from rendered objects ----

interface Probe {
  httpGet?: { path: string; port: string | number };
}
interface Container {
  name: string;
  image: string;
  args?: string[];
  ports: { name: string; containerPort: number }[];
  env: { name: string; value?: string; valueFrom?: Record<string, unknown> }[];
  envFrom: { configMapRef?: { name: string } }[];
  startupProbe: Probe;
  livenessProbe: Probe;
  readinessProbe: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
  securityContext: Record<string, unknown> & { capabilities: { drop: string[] } };
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface PodSpec {
  terminationGracePeriodSeconds: number;
  automountServiceAccountToken: boolean;
  securityContext: Record<string, unknown>;
  containers: Container[];
  volumes: { name: string; emptyDir?: Record<string, unknown>; secret?: { secretName: string; items?: { key: string; path: string }[] }; persistentVolumeClaim?: { claimName: string } }[];
  affinity?: { podAntiAffinity?: Record<string, unknown> };
  topologySpreadConstraints?: { labelSelector: { matchLabels: Record<string, string> } }[];
}
interface DeploymentSpec {
  replicas?: number;
  selector: { matchLabels: Record<string, string> };
  strategy: { type: string; rollingUpdate: { maxUnavailable: number; maxSurge: number } };
  template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
}
interface ServiceSpec {
  type: string;
  externalTrafficPolicy?: string;
  sessionAffinity: string;
  selector: Record<string, string>;
  ports: { name: string; port: number; targetPort: string | number; nodePort?: number }[];
}

const specOf = <T>(object: K8sObject): T => object.spec as T;
const deploymentSpec = (objects: K8sObject[]): DeploymentSpec => specOf<DeploymentSpec>(findObject(objects, 'Deployment'));
const podSpec = (objects: K8sObject[]): PodSpec => deploymentSpec(objects).template.spec;
const nodeContainer = (objects: K8sObject[]): Container => {
  const container = podSpec(objects).containers.find((c) => c.name === 'rookery');
  if (!container) throw new Error('no rookery container');
  return container;
};
const configMapData = (objects: K8sObject[]): Record<string, string> => findObject(objects, 'ConfigMap').data as Record<string, string>;
const secretData = (objects: K8sObject[]): Record<string, string> =>
  Object.fromEntries(Object.entries((findObject(objects, 'Secret').data as Record<string, string>) ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
const services = (objects: K8sObject[]): K8sObject[] => objects.filter((o) => o.kind === 'Service');
const chartValues = parseYaml(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8')) as Values;

/** A failed render's message, or undefined when it rendered. */
function renderFailure(values: Values): string | undefined {
  try {
    templateChart(values);
    return undefined;
  } catch (error) {
    if (error instanceof HelmError) return error.stderr;
    throw error;
  }
}

// ---- the value sets the chart is checked with ----

const VARIANTS: Record<string, Values> = {
  'the default values': {},
  'Redis Sentinel with an inline password': {
    config: { domain: 'example.org' },
    redis: { mode: 'sentinel', sentinels: ['sentinel-0.sentinel:26379', 'sentinel-1.sentinel:26379', 'sentinel-2.sentinel:26379'], sentinelMaster: 'primary', password: 'p@ss w:rd/+%' },
  },
  'Redis Cluster over TLS with the password in an existing Secret': {
    redis: { mode: 'cluster', clusterNodes: ['redis-cluster-0.redis-cluster:6379', 'redis-cluster-1.redis-cluster:6379'], tls: true, existingSecret: 'redis-auth' },
  },
  'autoscaling, a ServiceMonitor and an existing TLS Secret': {
    config: { domain: 'example.org', heartbeatMs: 1000, nodeDeadAfterMs: 5000 },
    autoscaling: { enabled: true, targetMemoryUtilizationPercentage: 80 },
    serviceMonitor: { enabled: true, labels: { release: 'prometheus' } },
    tls: { existingSecret: 'example-org-tls' },
    admin: { existingSecret: 'rookery-admin' },
    service: { externalTrafficPolicy: 'Local', loadBalancerSourceRanges: ['203.0.113.0/24'], annotations: { 'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb' } },
    topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway' }],
  },
  'the PROXY protocol from a balancer in 10.0.0.0/16': {
    proxyProtocol: { enabled: true, trustedProxies: '10.0.0.0/16, fd00::/8' },
    service: { annotations: { 'service.beta.kubernetes.io/aws-load-balancer-proxy-protocol': '*' } },
  },
  'federation with direct TLS on a NodePort Service': {
    ports: { s2sTls: 5270 },
    service: { type: 'NodePort', nodePorts: { s2s: 30269, s2sTls: 30270 } },
  },
  'a ClusterIP Service, hard anti-affinity and the whole Redis URL in an existing Secret': {
    service: { type: 'ClusterIP' },
    podAntiAffinity: 'hard',
    podDisruptionBudget: { maxUnavailable: '25%' },
    redis: { existingSecret: 'redis-url', existingSecretUrlKey: 'url' },
    image: { repository: 'registry.example.org/rookery', digest: `sha256:${'a'.repeat(64)}` },
    imagePullSecrets: ['registry'],
    drain: { preStopDelaySeconds: 0 },
    extraEnv: [{ name: 'NODE_OPTIONS', value: '--max-old-space-size=384' }],
    serviceAccount: { create: false },
  },
};

type ModelClass = new (data: never) => { validate(): void };
const MODELS: Record<string, ModelClass> = {
  'apps/v1 Deployment': Deployment,
  'v1 Service': Service,
  'v1 ConfigMap': ConfigMap,
  'v1 Secret': Secret,
  'v1 ServiceAccount': ServiceAccount,
  'policy/v1 PodDisruptionBudget': PodDisruptionBudget,
  'autoscaling/v2 HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'monitoring.coreos.com/v1 ServiceMonitor': ServiceMonitor,
};

describe('the helm binary from the npm registry', () => {
  it('is a real helm 3', () => {
    expect(helm(['version', '--short'])).toMatch(/^v3\.\d+\.\d+/);
  });
});

describe.each(Object.entries(VARIANTS))('the chart with %s', (_name, values) => {
  it('passes helm lint --strict', () => {
    expect(lintChart(values)).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it('renders objects that all validate against the Kubernetes schemas', () => {
    const objects = renderChart(values);
    expect(objects.length).toBeGreaterThanOrEqual(6);
    for (const object of objects) {
      const Model = MODELS[`${object.apiVersion} ${object.kind}`];
      expect(Model, `no model for ${object.apiVersion} ${object.kind}`).toBeDefined();
      expect(() => new (Model as ModelClass)(object as never).validate(), `${object.kind} ${object.metadata.name}`).not.toThrow();
      expect(object.metadata.namespace).toBe('xmpp');
    }
  });

  it('never puts the Redis URL or a credential in the ConfigMap', () => {
    const objects = renderChart(values);
    const config = JSON.stringify(configMapData(objects));
    expect(config).not.toMatch(/redis(s|-sentinel)?:\/\//);
    expect(config).not.toMatch(/PASSWORD|TOKEN/);
    const env = nodeContainer(objects).env.find((e) => e.name === 'ROOKERY_REDIS_URL');
    expect(env?.value).toBeUndefined();
    expect(env?.valueFrom).toHaveProperty('secretKeyRef');
  });

  it('gives a node environment that the server accepts', () => {
    const env = renderedNodeEnv(values);
    expect(env.ROOKERY_NODE_ID).toBe('fieldRef:metadata.name');
    // What the kubelet fills in: the pod name, and a URL from an existing Secret (which the server validates).
    const fromSecret = env.ROOKERY_REDIS_URL?.startsWith('secretKeyRef:') ? { ROOKERY_REDIS_URL: 'redis://redis-from-secret:6379/0' } : {};
    // The TLS files live in a volume only the pod mounts.
    const config = loadConfig({ env: { ...env, ROOKERY_NODE_ID: 'rookery-6d9f7c8b5-x2k4q', ...fromSecret }, checkFiles: false });
    expect(config.domain).toBe(env.ROOKERY_DOMAIN);
    expect([config.c2sPort, config.c2sTlsPort, config.httpPort]).toEqual([5222, 5223, 5280]);
    expect(config.adminToken).toBeTruthy();
  });

  it('points every Service at the pods and at named container ports', () => {
    const objects = renderChart(values);
    const { template } = deploymentSpec(objects);
    const portNames = nodeContainer(objects).ports.map((p) => p.name);
    for (const service of services(objects)) {
      const spec = specOf<ServiceSpec>(service);
      expect(template.metadata.labels).toMatchObject(spec.selector);
      for (const port of spec.ports) expect(portNames).toContain(port.targetPort);
    }
  });
});

describe('the Deployment', () => {
  const objects = renderChart();
  const spec = deploymentSpec(objects);
  const container = nodeContainer(objects);
  const portOf = (name: string): number | undefined => container.ports.find((p) => p.name === name)?.containerPort;

  it('runs three replicas that roll one at a time without losing capacity', () => {
    expect(spec.replicas).toBe(3);
    expect(spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
  });

  it('exposes the client ports and the HTTP port the server is told to listen on', () => {
    const config = configMapData(objects);
    expect(container.ports.map((p) => [p.name, p.containerPort])).toEqual([
      ['c2s', 5222],
      ['c2s-tls', 5223],
      ['s2s', 5269],
      ['http', 5280],
    ]);
    expect([config.ROOKERY_C2S_PORT, config.ROOKERY_C2S_TLS_PORT, config.ROOKERY_S2S_PORT, config.ROOKERY_HTTP_PORT]).toEqual(['5222', '5223', '5269', '5280']);
  });

  it('probes liveness on /healthz and readiness on /readyz, on the HTTP port', () => {
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(container.startupProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(portOf('http')).toBe(Number(configMapData(objects).ROOKERY_HTTP_PORT));
  });

  it('names each node after its pod through the downward API', () => {
    expect(container.env.find((e) => e.name === 'ROOKERY_NODE_ID')).toEqual({ name: 'ROOKERY_NODE_ID', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } });
  });

  it('gives the drain more time than its bound, and tells the server the same bound', () => {
    const grace = spec.template.spec.terminationGracePeriodSeconds;
    const drain = Number(configMapData(objects).ROOKERY_DRAIN_TIMEOUT_SECONDS);
    expect(drain).toBe(25);
    // The grace period also runs during the preStop hook (5 s), then the drain, then a 5 s margin.
    expect(grace).toBeGreaterThan(drain);
    expect(grace).toBe(5 + 25 + 5);
  });

  it('follows the drain setting in both the grace period and the environment', () => {
    const longer = renderChart({ drain: { timeoutSeconds: 60, marginSeconds: 10, preStopDelaySeconds: 3 } });
    expect(podSpec(longer).terminationGracePeriodSeconds).toBe(73);
    expect(configMapData(longer).ROOKERY_DRAIN_TIMEOUT_SECONDS).toBe('60');
    expect(nodeContainer(longer).lifecycle?.preStop?.exec?.command).toEqual(['node', '-e', 'setTimeout(() => {}, 3000)']);
  });

  it('waits in preStop with the node binary, not a shell or sleep', () => {
    expect(container.lifecycle?.preStop?.exec?.command).toEqual(['node', '-e', 'setTimeout(() => {}, 5000)']);
    expect(nodeContainer(renderChart({ drain: { preStopDelaySeconds: 0 } })).lifecycle).toBeUndefined();
  });

  it('runs as uid 10001, non-root, with a read-only root filesystem and no privileges', () => {
    expect(spec.template.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, fsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' } });
    expect(container.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 10001,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(spec.template.spec.automountServiceAccountToken).toBe(false);
  });

  it('mounts an emptyDir at /tmp, the only place the process writes', () => {
    expect(container.volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
    expect(spec.template.spec.volumes).toContainEqual({ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } });
  });

  it('requests and limits CPU and memory', () => {
    expect(container.resources).toEqual({ requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } });
  });

  it('prefers to spread the pods over Kubernetes nodes', () => {
    expect(spec.template.spec.affinity?.podAntiAffinity).toEqual({
      preferredDuringSchedulingIgnoredDuringExecution: [
        { weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: spec.selector.matchLabels } } },
      ],
    });
  });

  it('runs the image of the chart appVersion with the start command', () => {
    const chart = parseYaml(readFileSync(join(CHART_DIR, 'Chart.yaml'), 'utf8')) as { appVersion: string };
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(chart.appVersion).toBe(pkg.version);
    expect(container.image).toBe(`rookery:${pkg.version}`);
    expect(container.args).toEqual(['start']);
  });

  it('rolls the pods when the configuration changes', () => {
    const annotations = (c: K8sObject[]): Record<string, string> => (findObject(c, 'Deployment').spec as { template: { metadata: { annotations: Record<string, string> } } }).template.metadata.annotations;
    const before = annotations(objects);
    const after = annotations(renderChart({ config: { logLevel: 'debug' }, redis: { url: 'redis://other:6379/0' } }));
    expect(after['checksum/config']).not.toBe(before['checksum/config']);
    expect(after['checksum/secret']).not.toBe(before['checksum/secret']);
    expect(annotations(renderChart())).toEqual(before);
  });
});

describe('the node environment', () => {
  it('resolves the ConfigMap, the Secret and the pod name', () => {
    const env = renderedNodeEnv({ config: { domain: 'example.org', allowRegistration: true }, redis: { url: 'redis://10.0.0.5:6379/2' }, admin: { token: 't0ken' } });
    expect(env).toMatchObject({
      ROOKERY_DOMAIN: 'example.org',
      ROOKERY_ALLOW_REGISTRATION: 'true',
      ROOKERY_REDIS_URL: 'redis://10.0.0.5:6379/2',
      ROOKERY_REDIS_CLUSTER: 'false',
      ROOKERY_REDIS_PREFIX: 'rk',
      ROOKERY_ADMIN_TOKEN: 't0ken',
      ROOKERY_NODE_ID: 'fieldRef:metadata.name',
      ROOKERY_DRAIN_TIMEOUT_SECONDS: '25',
    });
    expect(env.ROOKERY_TLS_CERT).toBeUndefined();
  });

  it('reports references to Secrets the chart does not render', () => {
    const env = renderedNodeEnv(VARIANTS['Redis Cluster over TLS with the password in an existing Secret']);
    expect(env.ROOKERY_REDIS_PASSWORD).toBe('secretKeyRef:redis-auth/redis-password');
    expect(env.ROOKERY_REDIS_URL).toBe('rediss://redis-cluster-0.redis-cluster:6379');
    expect(env.ROOKERY_REDIS_CLUSTER).toBe('true');
  });

  it('lets extraEnv override and expands $(VAR) references as the kubelet does', () => {
    const env = renderedNodeEnv({ extraEnv: [{ name: 'ROOKERY_LOG_LEVEL', value: 'debug' }, { name: 'GREETING', value: 'hello $(ROOKERY_DOMAIN) $$(ROOKERY_DOMAIN)' }] });
    expect(env.ROOKERY_LOG_LEVEL).toBe('debug');
    expect(env.GREETING).toBe('hello localhost $(ROOKERY_DOMAIN)');
  });

  it('is read from the Deployment container, not guessed', () => {
    const objects = renderChart();
    expect(Object.keys(containerEnv(objects)).sort()).toEqual([...Object.keys(configMapData(objects)), ...nodeContainer(objects).env.map((e) => e.name)].sort());
  });
});

describe('the Redis settings', () => {
  it('percent-encode an inline password into the Sentinel URL, kept in the Secret', () => {
    const objects = renderChart(VARIANTS['Redis Sentinel with an inline password']);
    expect(secretData(objects).ROOKERY_REDIS_URL).toBe(
      'redis-sentinel://:p%40ss%20w%3Ard%2F%2B%25@sentinel-0.sentinel:26379,sentinel-1.sentinel:26379,sentinel-2.sentinel:26379/primary',
    );
    expect(configMapData(objects).ROOKERY_REDIS_CLUSTER).toBe('false');
  });

  it('put a user name and password into a single-instance URL', () => {
    const objects = renderChart({ redis: { url: 'rediss://redis.example:6380/1', username: 'rookery', password: 's3cret' } });
    expect(secretData(objects).ROOKERY_REDIS_URL).toBe('rediss://rookery:s3cret@redis.example:6380/1');
    expect(new URL(secretData(objects).ROOKERY_REDIS_URL as string).password).toBe('s3cret');
  });

  it('refuse credentials given twice', () => {
    expect(renderFailure({ redis: { url: 'redis://:a@redis:6379', password: 'b' } })).toMatch(/already holds credentials/);
  });

  it('take the whole URL from an existing Secret when told to', () => {
    const objects = renderChart(VARIANTS['a ClusterIP Service, hard anti-affinity and the whole Redis URL in an existing Secret']);
    const env = nodeContainer(objects).env.find((e) => e.name === 'ROOKERY_REDIS_URL');
    expect(env?.valueFrom).toEqual({ secretKeyRef: { name: 'redis-url', key: 'url' } });
    expect(secretData(objects).ROOKERY_REDIS_URL).toBeUndefined();
  });

  it('still mark a Redis Cluster whose whole URL comes from an existing Secret', () => {
    const env = renderedNodeEnv({ redis: { mode: 'cluster', existingSecret: 'redis-url', existingSecretUrlKey: 'url' } });
    expect(env).toMatchObject({ ROOKERY_REDIS_URL: 'secretKeyRef:redis-url/url', ROOKERY_REDIS_CLUSTER: 'true' });
  });

  it('require the addresses the chosen mode needs', () => {
    expect(renderFailure({ redis: { mode: 'sentinel' } })).toMatch(/redis\.sentinels: Array must have at least 1 items/);
    expect(renderFailure({ redis: { mode: 'cluster' } })).toMatch(/redis\.clusterNodes: Array must have at least 1 items/);
    expect(renderFailure({ redis: { mode: 'memcached' } })).toMatch(/redis\.mode must be one of the following/);
  });
});

describe('the admin token', () => {
  it('is generated when none is given, since the HTTP port only leaves loopback with a token', () => {
    expect(secretData(renderChart()).ROOKERY_ADMIN_TOKEN).toMatch(/^[A-Za-z0-9]{40}$/);
  });

  it('comes from the values or from an existing Secret', () => {
    expect(secretData(renderChart({ admin: { token: 'given' } })).ROOKERY_ADMIN_TOKEN).toBe('given');
    const objects = renderChart({ admin: { existingSecret: 'admin', existingSecretKey: 'token' } });
    expect(nodeContainer(objects).env.find((e) => e.name === 'ROOKERY_ADMIN_TOKEN')?.valueFrom).toEqual({ secretKeyRef: { name: 'admin', key: 'token' } });
    expect(secretData(objects).ROOKERY_ADMIN_TOKEN).toBeUndefined();
  });
});

describe('the TLS certificate', () => {
  const values = VARIANTS['autoscaling, a ServiceMonitor and an existing TLS Secret'];

  it('is mounted read-only from the existing Secret and handed to the server by path', () => {
    const objects = renderChart(values);
    expect(nodeContainer(objects).volumeMounts).toContainEqual({ name: 'tls', mountPath: '/etc/rookery/tls', readOnly: true });
    const volume = podSpec(objects).volumes.find((v) => v.name === 'tls');
    expect(volume?.secret?.secretName).toBe('example-org-tls');
    expect(configMapData(objects)).toMatchObject({ ROOKERY_TLS_CERT: '/etc/rookery/tls/tls.crt', ROOKERY_TLS_KEY: '/etc/rookery/tls/tls.key' });
  });

  it('is left to the server (self-signed) when no Secret is named', () => {
    const objects = renderChart();
    expect(podSpec(objects).volumes.map((v) => v.name)).toEqual(['tmp']);
    expect(configMapData(objects)).not.toHaveProperty('ROOKERY_TLS_CERT');
  });
});

describe('the Services', () => {
  const objects = renderChart();
  const client = specOf<ServiceSpec>(findObject(objects, 'Service', 'rookery'));
  const http = specOf<ServiceSpec>(findObject(objects, 'Service', 'rookery-http'));

  it('put the client ports behind a LoadBalancer without session affinity', () => {
    expect(client).toMatchObject({ type: 'LoadBalancer', externalTrafficPolicy: 'Cluster', sessionAffinity: 'None' });
    expect(client.ports.map((p) => [p.port, p.targetPort])).toEqual([
      [5222, 'c2s'],
      [5223, 'c2s-tls'],
      [5269, 's2s'],
    ]);
  });

  it('put the HTTP port on a separate ClusterIP Service', () => {
    expect(http).toMatchObject({ type: 'ClusterIP', sessionAffinity: 'None' });
    expect(http.ports.map((p) => [p.name, p.port, p.targetPort])).toEqual([['http', 5280, 'http']]);
  });

  it('take the Service type and external traffic policy from the values', () => {
    const local = specOf<ServiceSpec>(findObject(renderChart({ service: { type: 'NodePort', externalTrafficPolicy: 'Local', nodePorts: { c2s: 30222 } } }), 'Service', 'rookery'));
    expect(local).toMatchObject({ type: 'NodePort', externalTrafficPolicy: 'Local' });
    expect(local.ports[0]?.nodePort).toBe(30222);
    const internal = specOf<ServiceSpec>(findObject(renderChart({ service: { type: 'ClusterIP' } }), 'Service', 'rookery'));
    expect(internal.type).toBe('ClusterIP');
    expect(internal.externalTrafficPolicy).toBeUndefined();
  });
});

describe('XEP-0114 external components', () => {
  it('listens on the component port only when it is set, reached through the HTTP Service inside the cluster, with the pairs from a Secret', () => {
    const objects = renderChart({ ports: { component: 5347 }, components: { existingSecret: 'components', existingSecretKey: 'pairs' } });
    expect(nodeContainer(objects).ports?.find((port) => port.name === 'component')?.containerPort).toBe(5347);
    expect(configMapData(objects).ROOKERY_COMPONENT_PORT).toBe('5347');
    const http = specOf<ServiceSpec>(findObject(objects, 'Service', 'rookery-http'));
    expect(http.ports.map((p) => [p.name, p.port, p.targetPort])).toEqual([['http', 5280, 'http'], ['component', 5347, 'component']]);
    expect(nodeContainer(objects).env?.find((entry) => entry.name === 'ROOKERY_COMPONENTS')?.valueFrom).toEqual({ secretKeyRef: { name: 'components', key: 'pairs' } });
    const config = loadConfig({ env: { ...renderedNodeEnv({ ports: { component: 5347 } }), ROOKERY_NODE_ID: 'rookery-0' }, checkFiles: false });
    expect(config.componentPort).toBe(5347);
    const off = renderChart();
    expect(configMapData(off).ROOKERY_COMPONENT_PORT).toBeUndefined();
    expect(nodeContainer(off).ports?.some((port) => port.name === 'component')).toBe(false);
  });
});

describe('direct TLS between servers (XEP-0368)', () => {
  const xmppsServer = (objects: K8sObject[]) => specOf<ServiceSpec>(findObject(objects, 'Service', 'rookery')).ports.find((port) => port.name === 'xmpps-server');

  it('is off by default: no variable, no container port, no Service port', () => {
    const objects = renderChart();
    expect(configMapData(objects)).not.toHaveProperty('ROOKERY_S2S_TLS_PORT');
    expect(nodeContainer(objects).ports.some((port) => port.name === 's2s-tls')).toBe(false);
    expect(xmppsServer(objects)).toBeUndefined();
    expect(loadConfig({ env: { ...renderedNodeEnv(), ROOKERY_NODE_ID: 'rookery-0' }, checkFiles: false }).s2sTlsPort).toBeUndefined();
  });

  it('listens on ports.s2sTls, which the server reads back, behind a Service port of its own', () => {
    const values: Values = { ports: { s2sTls: 5271 }, service: { s2sTlsPort: 5270, nodePorts: { s2sTls: 30270 } } };
    const objects = renderChart(values);
    expect(configMapData(objects).ROOKERY_S2S_TLS_PORT).toBe('5271');
    expect(nodeContainer(objects).ports.find((port) => port.name === 's2s-tls')?.containerPort).toBe(5271);
    expect(xmppsServer(objects)).toEqual({ name: 'xmpps-server', port: 5270, targetPort: 's2s-tls', protocol: 'TCP', appProtocol: 'xmpps-server', nodePort: 30270 });
    const config = loadConfig({ env: { ...renderedNodeEnv(values), ROOKERY_NODE_ID: 'rookery-0' }, checkFiles: false });
    expect([config.s2sPort, config.s2sTlsPort]).toEqual([5269, 5271]);
    // A ClusterIP Service has no node port.
    expect(xmppsServer(renderChart({ ...values, service: { type: 'ClusterIP' } }))?.nodePort).toBeUndefined();
  });

  it('refuses to render without federation, or on the port of STARTTLS, as the server would refuse to start', () => {
    expect(renderFailure({ ports: { s2s: 0, s2sTls: 5270 } })).toMatch(/ports\.s2sTls is set but ports\.s2s is 0/);
    expect(renderFailure({ ports: { s2sTls: 5269 } })).toMatch(/ports\.s2sTls and ports\.s2s are the same port/);
    expect(renderFailure({ ports: { s2sTls: 70000 } })).toMatch(/ports\.s2sTls: Must be less than or equal to 65535/);
  });
});

describe('XEP-0157 contact addresses', () => {
  it('passes each kind configured as its ROOKERY_CONTACT_ variable, which the server reads back, and none by default', () => {
    const values = { config: { contact: { abuse: 'mailto:abuse@example.org, xmpp:abuse@example.org', support: 'https://example.org/help' } } };
    const data = configMapData(renderChart(values));
    expect(data).toMatchObject({ ROOKERY_CONTACT_ABUSE: 'mailto:abuse@example.org, xmpp:abuse@example.org', ROOKERY_CONTACT_SUPPORT: 'https://example.org/help' });
    expect(Object.keys(data).filter((name) => name.startsWith('ROOKERY_CONTACT_')).sort()).toEqual(['ROOKERY_CONTACT_ABUSE', 'ROOKERY_CONTACT_SUPPORT']);
    const config = loadConfig({ env: { ...renderedNodeEnv(values), ROOKERY_NODE_ID: 'rookery-0' }, checkFiles: false });
    expect([config.contactAbuse, config.contactSupport, config.contactAdmin]).toEqual(['mailto:abuse@example.org, xmpp:abuse@example.org', 'https://example.org/help', undefined]);
    expect(Object.keys(configMapData(renderChart())).filter((name) => name.startsWith('ROOKERY_CONTACT_'))).toEqual([]);
  });

  it('refuses an address that is no URI', () => {
    expect(renderFailure({ config: { contact: { admin: 'admin@example.org' } } })).toMatch(/config\.contact\.admin: Does not match pattern/);
  });
});

describe('the PROXY protocol', () => {
  it('is off by default on both client ports, with no trusted proxy', () => {
    const config = loadConfig({ env: { ...renderedNodeEnv({}), ROOKERY_NODE_ID: 'rookery-0' }, checkFiles: false });
    expect([config.c2sProxyProtocol, config.c2sTlsProxyProtocol, config.trustedProxies]).toEqual([false, false, undefined]);
  });

  it('turns on for both client ports with proxyProtocol.enabled, trusting proxyProtocol.trustedProxies', () => {
    const values = { proxyProtocol: { enabled: true, trustedProxies: '10.0.0.0/16' } };
    expect(configMapData(renderChart(values))).toMatchObject({ ROOKERY_C2S_PROXY_PROTOCOL: 'true', ROOKERY_C2S_TLS_PROXY_PROTOCOL: 'true', ROOKERY_TRUSTED_PROXIES: '10.0.0.0/16' });
    const config = loadConfig({ env: { ...renderedNodeEnv(values), ROOKERY_NODE_ID: 'rookery-0' }, checkFiles: false });
    expect([config.c2sProxyProtocol, config.c2sTlsProxyProtocol, config.trustedProxies]).toEqual([true, true, '10.0.0.0/16']);
  });

  it('refuses to render when enabled without trusted proxies, as the server would refuse to start', () => {
    expect(renderFailure({ proxyProtocol: { enabled: true } })).toMatch(/proxyProtocol\.trustedProxies/);
    expect(renderFailure({ proxyProtocol: { enabled: true, trustedProxies: 'the balancer' } })).toMatch(/proxyProtocol\.trustedProxies: Does not match pattern/);
  });
});

describe('HTTP upload', () => {
  const nodeConfig = (values: Values) => loadConfig({ env: { ...renderedNodeEnv(values), ROOKERY_NODE_ID: 'rookery-0' }, checkFiles: false });

  it('is off by default (a pod\'s own disk is no place for files every pod serves)', () => {
    expect(nodeConfig({}).uploadStore).toBe('off');
  });

  it('goes to an S3 bucket with the access key from an existing Secret', () => {
    const values = { upload: { store: 's3', publicUrl: 'https://xmpp.example.org', s3: { bucket: 'files', endpoint: 'https://s3.example.org', pathStyle: true, existingSecret: 's3-key' } } };
    const config = nodeConfig(values);
    expect([config.uploadStore, config.uploadS3Bucket, config.uploadS3Endpoint, config.uploadS3PathStyle, config.httpPublicUrl]).toEqual(['s3', 'files', 'https://s3.example.org', true, 'https://xmpp.example.org']);
    const env = nodeContainer(renderChart(values)).env;
    expect(env.find((e) => e.name === 'AWS_SECRET_ACCESS_KEY')?.valueFrom).toEqual({ secretKeyRef: { name: 's3-key', key: 'secret-access-key' } });
    expect(JSON.stringify(configMapData(renderChart(values)))).not.toMatch(/AWS_/);
  });

  it('goes to a shared claim mounted in every pod', () => {
    const values = { upload: { store: 'directory', publicUrl: 'https://xmpp.example.org', directory: { existingClaim: 'rookery-files' } } };
    const objects = renderChart(values);
    expect(nodeConfig(values)).toMatchObject({ uploadStore: 'disk', uploadDirectory: '/var/lib/rookery/uploads' });
    expect(nodeContainer(objects).volumeMounts).toContainEqual({ name: 'uploads', mountPath: '/var/lib/rookery/uploads' });
    expect(deploymentSpec(objects).template.spec.volumes).toContainEqual({ name: 'uploads', persistentVolumeClaim: { claimName: 'rookery-files' } });
  });

  it('refuses to render without what the chosen store needs', () => {
    expect(renderFailure({ upload: { store: 's3', s3: { bucket: 'files' } } })).toMatch(/upload\.publicUrl/);
    expect(renderFailure({ upload: { store: 's3', publicUrl: 'https://x.example' } })).toMatch(/upload\.s3\.bucket/);
    expect(renderFailure({ upload: { store: 'directory', publicUrl: 'https://x.example' } })).toMatch(/upload\.directory\.existingClaim/);
    expect(renderFailure({ upload: { store: 'disk' } })).toMatch(/upload\.store/);
  });
});

describe('the optional objects', () => {
  it('include a PodDisruptionBudget allowing one pod down', () => {
    const objects = renderChart();
    expect(findObject(objects, 'PodDisruptionBudget').spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: deploymentSpec(objects).selector.matchLabels } });
    expect(renderChart({ podDisruptionBudget: { enabled: false } }).map((o) => o.kind)).not.toContain('PodDisruptionBudget');
  });

  it('leave out the autoscaler and the ServiceMonitor by default', () => {
    expect(renderChart().map((o) => o.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'PodDisruptionBudget', 'Secret', 'Service', 'Service', 'ServiceAccount']);
  });

  it('scale the Deployment on CPU with an autoscaler, which then owns the replica count', () => {
    const objects = renderChart(VARIANTS['autoscaling, a ServiceMonitor and an existing TLS Secret']);
    const hpa = findObject(objects, 'HorizontalPodAutoscaler').spec as { scaleTargetRef: unknown; minReplicas: number; maxReplicas: number; metrics: { resource: { name: string; target: unknown } }[] };
    expect(hpa.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'rookery' });
    expect([hpa.minReplicas, hpa.maxReplicas]).toEqual([3, 10]);
    expect(hpa.metrics[0]?.resource).toEqual({ name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } });
    expect(deploymentSpec(objects).replicas).toBeUndefined();
  });

  it('scrape /metrics on the HTTP Service only with the ServiceMonitor', () => {
    const objects = renderChart(VARIANTS['autoscaling, a ServiceMonitor and an existing TLS Secret']);
    const monitor = findObject(objects, 'ServiceMonitor');
    const spec = monitor.spec as { selector: { matchLabels: Record<string, string> }; endpoints: { port: string; path: string }[] };
    expect(monitor.metadata.labels).toMatchObject({ release: 'prometheus' });
    expect(spec.endpoints).toMatchObject([{ port: 'http', path: '/metrics' }]);
    const selected = services(objects).filter((s) => Object.entries(spec.selector.matchLabels).every(([k, v]) => s.metadata.labels?.[k] === v));
    expect(selected.map((s) => s.metadata.name)).toEqual(['rookery-http']);
  });

  it('give topology spread constraints the pod selector when they have none', () => {
    const objects = renderChart(VARIANTS['autoscaling, a ServiceMonitor and an existing TLS Secret']);
    expect(podSpec(objects).topologySpreadConstraints?.[0]?.labelSelector.matchLabels).toEqual(deploymentSpec(objects).selector.matchLabels);
  });
});

describe('values.schema.json', () => {
  it('makes helm template fail on a replica count that is not a number', () => {
    expect(renderFailure({ replicaCount: 'three' })).toMatch(/replicaCount: Invalid type\. Expected: integer, given: string/);
  });

  it('rejects unknown values and values of the wrong kind', () => {
    expect(renderFailure({ replicas: 3 })).toMatch(/Additional property replicas is not allowed/);
    expect(renderFailure({ service: { type: 'Ingress' } })).toMatch(/service\.type must be one of the following/);
    expect(renderFailure({ securityContext: { runAsUser: 0 } })).toMatch(/securityContext\.runAsUser: Must be greater than or equal to 1/);
    expect(renderFailure({ redis: { sentinels: ['no-port'] } })).toMatch(/redis\.sentinels\.0: Does not match pattern/);
  });

  it('makes helm lint fail too', () => {
    expect(() => lintChart({ replicaCount: 'three' })).toThrow(HelmError);
  });

  it('describes, and the chart README lists, every value of values.yaml', () => {
    const schema = JSON.parse(readFileSync(join(CHART_DIR, 'values.schema.json'), 'utf8')) as SchemaNode;
    const readme = readFileSync(join(CHART_DIR, 'README.md'), 'utf8');
    const undocumented: string[] = [];
    const unschemed: string[] = [];
    interface SchemaNode {
      properties?: Record<string, SchemaNode>;
      description?: string;
    }
    const walk = (value: unknown, path: string[], node: SchemaNode | undefined): void => {
      const isMap = typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length > 0;
      if (path.length > 0 && node === undefined) unschemed.push(path.join('.'));
      if (!isMap) {
        if (!readme.includes(`\`${path.join('.')}\``)) undocumented.push(path.join('.'));
        return;
      }
      for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
        // A schema node without properties (resources.requests, autoscaling.behavior.*) accepts what Kubernetes does.
        walk(child, [...path, key], node?.properties ? node.properties[key] : node === undefined ? undefined : {});
      }
    };
    walk(chartValues, [], schema);
    expect(undocumented).toEqual([]);
    expect(unschemed).toEqual([]);
  });
});

describe('NOTES.txt', () => {
  it('explains how to create the first account with the rookery command in a pod', () => {
    const notes = renderNotes({ config: { domain: 'example.org' } });
    expect(notes).toContain('kubectl -n xmpp exec -i deploy/rookery -- node bin/rookery.js user add alice@example.org -');
    expect(notes).toContain('_xmpp-client._tcp.example.org.');
    expect(notes).toMatch(/no TLS certificate is configured/);
  });
});

describe('the Dockerfile', () => {
  const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
  const dockerignore = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));

  it('runs as the uid the chart runs the pod as', () => {
    const user = /^USER\s+(\d+)(?::(\d+))?\s*$/m.exec(dockerfile);
    const context = (chartValues.securityContext as { runAsUser: number; runAsGroup: number });
    expect(Number(user?.[1])).toBe(context.runAsUser);
    expect(Number(user?.[2])).toBe(context.runAsGroup);
    expect(dockerfile).toMatch(/useradd[^\n]*--uid 10001/);
  });

  const finalStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));

  it('installs production dependencies only, without tsx: the image runs compiled JavaScript', () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(pkg.dependencies).not.toHaveProperty('tsx');
  });

  it('builds dist/ from the sources in a stage of its own and copies only dist/ and bin/ into the image', () => {
    for (const path of ['bin', 'src', 'cluster', 'metrics']) expect(dockerfile).toMatch(new RegExp(`^COPY ${path} \\./${path}$`, 'm'));
    expect(dockerfile).toMatch(/^RUN node scripts\/build\.mjs$/m);
    expect(finalStage).toMatch(/^COPY --from=build \/app\/dist \.\/dist$/m);
    expect(finalStage).toMatch(/^COPY bin \.\/bin$/m);
    expect(finalStage).not.toMatch(/^COPY src /m);
    for (const path of ['bin', 'src', 'cluster', 'metrics', 'package.json', 'package-lock.json', 'tsconfig.json']) expect(dockerignore).not.toContain(path);
    expect(dockerignore).toContain('!scripts/build.mjs');
    for (const path of ['node_modules', 'test', '.git']) expect(dockerignore).toContain(path);
  });

  it('starts a node and exposes the ports the chart uses', () => {
    expect(dockerfile).toMatch(/^ENTRYPOINT \["node", "bin\/rookery\.js"\]$/m);
    expect(dockerfile).toMatch(/^CMD \["start"\]$/m);
    expect(dockerfile).toMatch(/^EXPOSE 5222 5223 5280$/m);
    // Node 24 LTS: Node 20 reached its end of life in April 2026.
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:24-bookworm-slim$/m);
  });
});
