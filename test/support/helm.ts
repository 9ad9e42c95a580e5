// A real helm binary for the chart tests, the chart rendered into objects, and what the image
// built from the Dockerfile runs (for tests that start the node as a pod would).
//
// helm comes from the npm package @aws-cdk/asset-kubectl-v20 (a devDependency): its lib/layer.zip
// is an AWS Lambda layer holding helm/helm (helm 3.8.1, linux-amd64) and kubectl/kubectl. The
// binary is extracted once per install into node_modules/.cache/rookery-helm/<package version>/.
// ROOKERY_HELM_BIN names another helm binary to use instead (e.g. on a machine that is not linux-x64).
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateRawSync } from 'node:zlib';
import { parseAllDocuments } from 'yaml';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CHART_DIR = join(REPO_ROOT, 'helm/rookery');
export const HELM_PACKAGE = '@aws-cdk/asset-kubectl-v20';
const LAYER_ENTRY = 'helm/helm';

export class HelmError extends Error {
  constructor(
    message: string,
    readonly stderr: string,
    readonly stdout: string,
  ) {
    super(message);
    this.name = 'HelmError';
  }
}

/** One file of a ZIP archive (stored or deflated; no ZIP64: the layer's entries are well below 4 GiB). */
export function readZipEntry(zip: Buffer, name: string): Buffer {
  // End of central directory: signature 0x06054b50, within the last 64 KiB + 22 bytes.
  let eocd = -1;
  for (let at = zip.length - 22; at >= Math.max(0, zip.length - 65_557); at--) {
    if (zip.readUInt32LE(at) === 0x06054b50) {
      eocd = at;
      break;
    }
  }
  if (eocd < 0) throw new Error('not a ZIP archive (no end of central directory)');
  const entries = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  for (let n = 0; n < entries; n++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error('corrupt ZIP central directory');
    const method = zip.readUInt16LE(at + 10);
    const compressedSize = zip.readUInt32LE(at + 20);
    const size = zip.readUInt32LE(at + 24);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const localHeader = zip.readUInt32LE(at + 42);
    const entryName = zip.toString('utf8', at + 46, at + 46 + nameLength);
    if (entryName === name) {
      if (zip.readUInt32LE(localHeader) !== 0x04034b50) throw new Error('corrupt ZIP local header');
      const dataStart = localHeader + 30 + zip.readUInt16LE(localHeader + 26) + zip.readUInt16LE(localHeader + 28);
      const data = zip.subarray(dataStart, dataStart + compressedSize);
      const content = method === 0 ? Buffer.from(data) : method === 8 ? inflateRawSync(data) : undefined;
      if (content === undefined) throw new Error(`${name}: unsupported ZIP compression method ${method}`);
      if (content.length !== size) throw new Error(`${name}: expected ${size} bytes, got ${content.length}`);
      return content;
    }
    at += 46 + nameLength + extraLength + commentLength;
  }
  throw new Error(`${name} is not in the archive`);
}

let cachedBinary: string | undefined;

/** The path of the helm binary, extracting it from the npm package on first use. */
export function helmBinary(): string {
  if (cachedBinary) return cachedBinary;
  const override = process.env.ROOKERY_HELM_BIN;
  if (override) return (cachedBinary = override);
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`${HELM_PACKAGE} ships helm for linux-x64 only (this is ${process.platform}-${process.arch}): set ROOKERY_HELM_BIN to a helm 3 binary`);
  }
  const require = createRequire(import.meta.url);
  const packageJson = require.resolve(`${HELM_PACKAGE}/package.json`);
  const { version } = JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string };
  const cacheDir = join(REPO_ROOT, 'node_modules/.cache/rookery-helm', version);
  const binary = join(cacheDir, 'helm');
  if (!existsSync(binary)) {
    mkdirSync(cacheDir, { recursive: true });
    const helm = readZipEntry(readFileSync(join(dirname(packageJson), 'lib/layer.zip')), LAYER_ENTRY);
    // Write beside it, then rename: concurrent test workers never see half a binary.
    const partial = `${binary}.${process.pid}.partial`;
    writeFileSync(partial, helm);
    chmodSync(partial, 0o755);
    renameSync(partial, binary);
  }
  return (cachedBinary = binary);
}

const helmHome = join(tmpdir(), 'rookery-helm-home');

/** Runs helm; returns its standard output, or throws HelmError (with stderr) when it exits non-zero. */
export function helm(args: readonly string[]): string {
  try {
    return execFileSync(helmBinary(), args, {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      stdio: ['ignore', 'pipe', 'pipe'],
      // No kubeconfig, repositories or plugins of the user's: helm template and lint need none.
      env: { PATH: process.env.PATH ?? '', HOME: helmHome, HELM_CACHE_HOME: join(helmHome, 'cache'), HELM_CONFIG_HOME: join(helmHome, 'config'), HELM_DATA_HOME: join(helmHome, 'data') },
    });
  } catch (error) {
    const failure = error as { status?: number; stderr?: string; stdout?: string; message: string };
    if (failure.status === undefined || failure.status === null) throw error;
    throw new HelmError(`helm ${args.join(' ')} exited with ${failure.status}:\n${failure.stdout ?? ''}${failure.stderr ?? ''}`, failure.stderr ?? '', failure.stdout ?? '');
  }
}

export type Values = Record<string, unknown>;

/** Runs helm with the values written to a temporary file passed as -f. */
function withValuesFile<T>(values: Values | undefined, run: (args: string[]) => T): T {
  if (values === undefined) return run([]);
  const dir = mkdtempSync(join(tmpdir(), 'rookery-values-'));
  try {
    const file = join(dir, 'values.json');
    writeFileSync(file, JSON.stringify(values));
    return run(['-f', file]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface RenderOptions {
  release?: string;
  namespace?: string;
}

/** `helm lint --strict` of the chart with these values; returns helm's output (throws HelmError on failure). */
export function lintChart(values?: Values): string {
  return withValuesFile(values, (extra) => helm(['lint', '--strict', CHART_DIR, ...extra]));
}

/** `helm template` of the chart; the YAML text. */
export function templateChart(values?: Values, options: RenderOptions = {}): string {
  return withValuesFile(values, (extra) =>
    helm(['template', options.release ?? 'rookery', CHART_DIR, '--namespace', options.namespace ?? 'xmpp', ...extra]),
  );
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

/** The rendered objects, parsed. */
export function renderChart(values?: Values, options: RenderOptions = {}): K8sObject[] {
  const text = templateChart(values, options);
  const objects: K8sObject[] = [];
  for (const document of parseAllDocuments(text)) {
    if (document.errors.length > 0) throw new Error(`helm template rendered invalid YAML: ${document.errors[0]?.message}`);
    const value = document.toJS() as K8sObject | null;
    if (value !== null) objects.push(value);
  }
  return objects;
}

/** The one rendered object of this kind (and name, when given). */
export function findObject(objects: readonly K8sObject[], kind: string, name?: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0] as K8sObject;
}

interface KeyRef {
  name: string;
  key: string;
  optional?: boolean;
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string }; resourceFieldRef?: { resource: string }; configMapKeyRef?: KeyRef; secretKeyRef?: KeyRef };
}
interface EnvFromSource {
  prefix?: string;
  configMapRef?: { name: string; optional?: boolean };
  secretRef?: { name: string; optional?: boolean };
}
/** An HTTP probe as the kubelet reads it (the chart uses httpGet only). */
export interface HttpProbe {
  httpGet?: { path: string; port: string | number; scheme?: string };
  periodSeconds?: number;
  timeoutSeconds?: number;
  failureThreshold?: number;
}
/** A lifecycle hook: a command run in the container, or the kubelet's own sleep action. */
export interface LifecycleHandler {
  exec?: { command: string[] };
  sleep?: { seconds: number };
  httpGet?: { path: string; port: string | number };
}
export interface Container {
  name: string;
  command?: string[];
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  envFrom?: EnvFromSource[];
  startupProbe?: HttpProbe;
  livenessProbe?: HttpProbe;
  readinessProbe?: HttpProbe;
  lifecycle?: { preStop?: LifecycleHandler; postStart?: LifecycleHandler };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}
export interface PodSpec {
  terminationGracePeriodSeconds?: number;
  containers: Container[];
  volumes?: ({ name: string } & Record<string, unknown>)[];
}

/** The pod template's spec of the one rendered Deployment. */
export function deploymentPodSpec(objects: readonly K8sObject[]): PodSpec {
  return (findObject(objects, 'Deployment').spec as { template: { spec: PodSpec } }).template.spec;
}

/** The Deployment's container of this name. */
export function deploymentContainer(objects: readonly K8sObject[], containerName = 'rookery'): Container {
  const container = deploymentPodSpec(objects).containers.find((c) => c.name === containerName);
  if (!container) throw new Error(`the Deployment has no container ${containerName}`);
  return container;
}

/** The data of a rendered ConfigMap or Secret (Secret data decoded), or undefined if it was not rendered. */
function dataOf(objects: readonly K8sObject[], kind: 'ConfigMap' | 'Secret', name: string): Record<string, string> | undefined {
  const object = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!object) return undefined;
  const data: Record<string, string> = {};
  if (kind === 'Secret') {
    for (const [key, value] of Object.entries((object.data as Record<string, string> | undefined) ?? {})) data[key] = Buffer.from(value, 'base64').toString('utf8');
    Object.assign(data, (object.stringData as Record<string, string> | undefined) ?? {});
  } else {
    Object.assign(data, (object.data as Record<string, string> | undefined) ?? {});
  }
  return data;
}

/** $(VAR) references in a literal value, expanded as the kubelet does ($$ escapes a $; unknown names stay as they are). */
function expand(value: string, env: Record<string, string>): string {
  return value.replace(/\$\$|\$\(([-._a-zA-Z0-9]+)\)/g, (match, name: string | undefined) => {
    if (name === undefined) return '$';
    return env[name] ?? match;
  });
}

/**
 * The environment of the Deployment's node container as the kubelet would build it: envFrom first,
 * then env (later entries win). ConfigMap and Secret references are resolved from the rendered
 * objects; a fieldRef is reported as `fieldRef:<path>`, a resourceFieldRef as
 * `resourceFieldRef:<resource>`, and a reference to a ConfigMap or Secret the chart does not
 * render (an existing one) as `configMapKeyRef:<name>/<key>` or `secretKeyRef:<name>/<key>`.
 */
export function containerEnv(objects: readonly K8sObject[], containerName = 'rookery'): Record<string, string> {
  const container = deploymentContainer(objects, containerName);
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    const ref = source.configMapRef ?? source.secretRef;
    if (!ref) continue;
    const kind = source.configMapRef ? 'ConfigMap' : 'Secret';
    const data = dataOf(objects, kind, ref.name);
    if (data === undefined) {
      if (ref.optional) continue;
      throw new Error(`envFrom names ${kind} ${ref.name}, which the chart does not render`);
    }
    for (const [key, value] of Object.entries(data)) env[`${source.prefix ?? ''}${key}`] = value;
  }
  for (const variable of container.env ?? []) {
    const from = variable.valueFrom;
    if (from === undefined) {
      env[variable.name] = expand(variable.value ?? '', env);
    } else if (from.fieldRef) {
      env[variable.name] = `fieldRef:${from.fieldRef.fieldPath}`;
    } else if (from.resourceFieldRef) {
      env[variable.name] = `resourceFieldRef:${from.resourceFieldRef.resource}`;
    } else {
      const ref = from.configMapKeyRef ?? from.secretKeyRef;
      if (!ref) throw new Error(`env ${variable.name} has an unknown valueFrom`);
      const kind = from.configMapKeyRef ? 'ConfigMap' : 'Secret';
      const data = dataOf(objects, kind, ref.name);
      if (data === undefined) {
        env[variable.name] = `${from.configMapKeyRef ? 'configMapKeyRef' : 'secretKeyRef'}:${ref.name}/${ref.key}`;
      } else if (ref.key in data) {
        env[variable.name] = data[ref.key] as string;
      } else if (!ref.optional) {
        throw new Error(`env ${variable.name} refers to key ${ref.key}, missing from ${kind} ${ref.name}`);
      }
    }
  }
  return env;
}

/** The environment of the node container for these chart values (see containerEnv). */
export function renderedNodeEnv(values?: Values, options: RenderOptions = {}): Record<string, string> {
  return containerEnv(renderChart(values, options));
}

/** What the image built from the Dockerfile runs: its final stage's ENV, WORKDIR, ENTRYPOINT and CMD. */
export interface ImageConfig {
  env: Record<string, string>;
  workdir: string;
  entrypoint: string[];
  cmd: string[];
}

/**
 * Reads the final stage of the Dockerfile. Only the forms the Dockerfile uses are understood
 * (ENV key=value pairs, exec-form ENTRYPOINT and CMD); anything else there throws, so that a
 * change to it is noticed rather than misread.
 */
export function imageConfig(dockerfile = join(REPO_ROOT, 'Dockerfile')): ImageConfig {
  // Continuation lines joined, comments dropped.
  const lines = readFileSync(dockerfile, 'utf8').replace(/\\\n/g, ' ').split('\n').map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'));
  const lastFrom = lines.map((line) => /^FROM\s/i.test(line)).lastIndexOf(true);
  if (lastFrom < 0) throw new Error('Dockerfile: no FROM');
  const image: ImageConfig = { env: {}, workdir: '/', entrypoint: [], cmd: [] };
  for (const line of lines.slice(lastFrom + 1)) {
    const [, instruction = '', rest = ''] = /^(\w+)\s+(.*)$/.exec(line) ?? [];
    switch (instruction.toUpperCase()) {
      case 'ENV':
        for (const pair of rest.split(/\s+/)) {
          const match = /^([A-Za-z_][A-Za-z0-9_]*)=(\S*)$/.exec(pair);
          if (!match) throw new Error(`Dockerfile: ENV ${rest}: only key=value pairs are understood`);
          image.env[match[1] as string] = match[2] as string;
        }
        break;
      case 'WORKDIR':
        image.workdir = rest.startsWith('/') ? rest : join(image.workdir, rest);
        break;
      case 'ENTRYPOINT':
      case 'CMD': {
        if (!rest.startsWith('[')) throw new Error(`Dockerfile: ${line}: only the exec (JSON) form is understood`);
        const argv = JSON.parse(rest) as string[];
        if (instruction.toUpperCase() === 'ENTRYPOINT') {
          image.entrypoint = argv;
          image.cmd = []; // ENTRYPOINT resets an inherited CMD.
        } else {
          image.cmd = argv;
        }
        break;
      }
    }
  }
  return image;
}

/** The container's process, as Kubernetes builds it: `command` replaces ENTRYPOINT, `args` replaces CMD. */
export function containerArgv(image: ImageConfig, container: Container): string[] {
  if (container.command !== undefined) return [...container.command, ...(container.args ?? [])];
  return [...image.entrypoint, ...(container.args ?? image.cmd)];
}

/**
 * The text of templates/NOTES.txt for these values. `helm template` does not render NOTES.txt and
 * `helm install --dry-run` needs a cluster, so a copy of the chart renders it through a probe template.
 */
export function renderNotes(values?: Values, options: RenderOptions = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'rookery-chart-'));
  try {
    const chart = join(dir, 'rookery');
    cpSync(CHART_DIR, chart, { recursive: true });
    const notes = readFileSync(join(chart, 'templates/NOTES.txt'), 'utf8');
    writeFileSync(join(chart, 'templates/_notes-probe.tpl'), `{{- define "rookery.notesProbe" -}}\n${notes}\n{{- end -}}\n`);
    writeFileSync(
      join(chart, 'templates/notes-probe.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes-probe\ndata:\n  notes: {{ include "rookery.notesProbe" . | b64enc | quote }}\n',
    );
    const text = withValuesFile(values, (extra) =>
      helm(['template', options.release ?? 'rookery', chart, '--namespace', options.namespace ?? 'xmpp', '--show-only', 'templates/notes-probe.yaml', ...extra]),
    );
    const probe = parseAllDocuments(text)[0]?.toJS() as { data: { notes: string } };
    return Buffer.from(probe.data.notes, 'base64').toString('utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
