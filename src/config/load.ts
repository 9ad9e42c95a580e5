// Loading: defaults, then the YAML file, then the environment, validated by the one schema. A
// problem is one line naming where the value came from, what was expected and what was given.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { z } from 'zod';
import { ConfigError } from '../errors.js';
import { closest, type Env, readEnv } from './env.js';
import { allSettings, type Config, configSchema, defaultConfig } from './schema.js';

export type { Env } from './env.js';

/** Where each value that is not a default came from: a variable name or "file: key". */
type Sources = Map<string, { where: string; raw?: string }>;

export interface LoadOptions {
  file?: string;
  env?: Env;
  /** false: leave the TLS files unread (checking a pod's environment without the volumes it mounts). */
  checkFiles?: boolean;
  /** Filled with the paths of the settings that were given (not defaults): the CLI asks whether `domain` was. */
  given?: Set<string>;
}

/** Reads the YAML file (if any), applies the environment, validates. Throws ConfigError. */
export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  const file = options.file ?? (env.ROOKERY_CONFIG || undefined);
  const merged: Record<string, unknown> = structuredClone(defaultConfig());
  const sources: Sources = new Map();
  if (file !== undefined) applyYaml(merged, readYaml(file), file, sources);
  for (const { path, value, variable } of readEnv(env)) {
    setPath(merged, path, value);
    sources.set(path, { where: variable, raw: env[variable] as string });
  }
  for (const path of sources.keys()) options.given?.add(path);
  const result = configSchema.safeParse(merged);
  if (!result.success) throw new ConfigError('ROOKERY_CONFIG_INVALID', describeIssue(result.error.issues[0], merged, sources, file));
  if (options.checkFiles !== false) checkTlsFiles(result.data, sources);
  return result.data;
}

/**
 * The yaml package, loaded only when a file is given (about 0.07 s: bench/RESULTS.md "CLI
 * timing"). require() rather than import() keeps loadConfig synchronous; yaml ships CommonJS.
 */
export function yamlModule(): typeof import('yaml') {
  return createRequire(import.meta.url)('yaml') as typeof import('yaml');
}

function readYaml(file: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = yamlModule().parse(readFileSync(file, 'utf8'));
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new ConfigError('ROOKERY_CONFIG_UNREADABLE', `cannot read ${file}: ${reason}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (!isMapping(parsed)) throw new ConfigError('ROOKERY_CONFIG_INVALID', `${file}: expected a mapping of settings at the top level`);
  return parsed;
}

const OPTIONAL = new Set(allSettings().filter(({ setting }) => setting.default === undefined).map(({ path }) => path));

function applyYaml(merged: Record<string, unknown>, yaml: Record<string, unknown>, file: string, sources: Sources): void {
  const entries = Object.entries(yaml).flatMap(([key, value]): Array<[string, unknown]> =>
    key === 'limits' && isMapping(value) ? Object.entries(value).map(([limit, v]) => [`limits.${limit}`, v]) : [[key, value]],
  );
  for (const [path, value] of entries) {
    // `tlsCert: ~` or an empty `redisUrl:` leaves an optional setting unset.
    setPath(merged, path, value === null && OPTIONAL.has(path) ? undefined : value);
    sources.set(path, { where: `${file}: ${path}` });
  }
}

function describeIssue(issue: z.core.$ZodIssue | undefined, merged: Record<string, unknown>, sources: Sources, file: string | undefined): string {
  if (issue === undefined) return 'invalid configuration';
  const path = issue.path.join('.');
  if (issue.code === 'unrecognized_keys') {
    const key = `${path ? `${path}.` : ''}${issue.keys[0] ?? ''}`;
    const near = closest(key, allSettings().map((entry) => entry.path));
    return `${file ?? 'configuration'}: unknown setting ${key}${near ? ` (did you mean ${near}?)` : ''}`;
  }
  if (issue.code === 'custom' && issue.params?.sentence === true) return issue.message;
  const source = sources.get(path);
  const where = source?.where ?? `${path} (default)`;
  const secret = allSettings().find((entry) => entry.path === path)?.setting.secret ?? false;
  const got = secret ? '' : `, got ${source?.raw !== undefined ? `"${source.raw}"` : describeValue(getPath(merged, path))}`;
  return `${where}: expected ${issue.message}${got}`;
}

/** A YAML value as a message shows it: a quoted "false" must not read like the boolean. */
function describeValue(value: unknown): string {
  if (typeof value === 'string') return `the string "${value}"`;
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}

const PEM = {
  tlsCert: { label: /-----BEGIN CERTIFICATE-----/, expected: 'a PEM certificate file (-----BEGIN CERTIFICATE-----)' },
  s2sCaFile: { label: /-----BEGIN CERTIFICATE-----/, expected: 'a PEM file of certificates (-----BEGIN CERTIFICATE-----)' },
  tlsKey: { label: /-----BEGIN ([A-Z]+ )?PRIVATE KEY-----/, expected: 'a PEM private key file (-----BEGIN PRIVATE KEY-----)' },
} as const;

/** The files must be there and look like PEM now, rather than fail the first TLS handshake. */
function checkTlsFiles(config: Config, sources: Sources): void {
  for (const key of ['tlsCert', 'tlsKey', 's2sCaFile'] as const) {
    const file = config[key];
    if (file === undefined) continue;
    const where = sources.get(key)?.where ?? key;
    let content: string;
    try {
      content = readFileSync(file, 'utf8');
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      throw new ConfigError('ROOKERY_CONFIG_INVALID', `${where}: cannot read ${file} (${reason})`);
    }
    if (!PEM[key].label.test(content)) throw new ConfigError('ROOKERY_CONFIG_INVALID', `${where}: expected ${PEM[key].expected}, got ${file}, which is not`);
  }
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const [head, ...rest] = path.split('.') as [string, ...string[]];
  if (rest.length === 0) {
    if (value === undefined) delete target[head];
    else target[head] = value;
    return;
  }
  // A YAML `limits: 5` was set whole: the schema reports it, no limit goes inside.
  const inner = target[head];
  if (isMapping(inner)) setPath(inner, rest.join('.'), value);
}

function getPath(source: Record<string, unknown>, path: string): unknown {
  let current: unknown = source;
  for (const part of path.split('.')) current = isMapping(current) ? current[part] : undefined;
  return current;
}
