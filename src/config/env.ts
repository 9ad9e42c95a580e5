// ROOKERY_* environment variables: each one names a setting, or it is refused (a misspelt name
// silently ignored would leave a setting at its default).
import { ConfigError } from '../errors.js';
import { allSettings, type SettingType } from './schema.js';

export type Env = Record<string, string | undefined>;

/** Variables that start with ROOKERY_ but are no setting. */
const NOT_SETTINGS: ReadonlySet<string> = new Set([
  'ROOKERY_CONFIG',
  // The test suite's choice of helm binary (test/support/helm.ts); its child nodes inherit it.
  'ROOKERY_HELM_BIN',
]);

export interface EnvValue {
  path: string;
  value: unknown;
  /** The variable it came from, for messages. */
  variable: string;
}

const TRUE = ['true', '1', 'yes', 'on'];
const FALSE = ['false', '0', 'no', 'off'];

/** Every variable a setting is read from, its main name last so that it wins. */
export function envVariables(): Map<string, { path: string; type: SettingType; secret: boolean }> {
  const names = new Map<string, { path: string; type: SettingType; secret: boolean }>();
  const all = allSettings();
  for (const { path, setting } of all) for (const alias of setting.aliases ?? []) names.set(alias, { path, type: setting.type, secret: setting.secret ?? false });
  for (const { path, setting } of all) names.set(setting.env, { path, type: setting.type, secret: setting.secret ?? false });
  return names;
}

/**
 * The settings the environment gives, typed: integers and booleans are parsed here, the rest of
 * the validation is the schema's. An empty variable counts as unset (as a shell `FOO=` means).
 */
export function readEnv(env: Env): EnvValue[] {
  const known = envVariables();
  const unknown = Object.keys(env).filter((name) => name.startsWith('ROOKERY_') && !known.has(name) && !NOT_SETTINGS.has(name));
  if (unknown.length > 0) {
    const name = unknown.sort()[0] as string;
    const near = closest(name, [...known.keys()]);
    throw new ConfigError('ROOKERY_CONFIG_INVALID', `unknown environment variable ${name}${near ? ` (did you mean ${near}?)` : ''}`);
  }
  const values: EnvValue[] = [];
  // Aliases first, main names after: the later value of a path wins in the merge.
  for (const [variable, { path, type, secret }] of known) {
    const raw = env[variable];
    if (raw === undefined || raw === '') continue;
    values.push({ path, variable, value: parse(variable, raw, type, secret) });
  }
  return values;
}

function parse(variable: string, raw: string, type: SettingType, secret: boolean): unknown {
  const got = secret ? '' : `, got "${raw}"`;
  if (type === 'boolean') {
    const word = raw.trim().toLowerCase();
    if (TRUE.includes(word)) return true;
    if (FALSE.includes(word)) return false;
    throw new ConfigError('ROOKERY_CONFIG_INVALID', `${variable}: expected a boolean (true/false, 1/0, yes/no, on/off)${got}`);
  }
  if (type === 'integer') {
    // The range is the schema's to check; "5e3", "0x10" or "12abc" are no integers.
    if (/^\s*-?\d+\s*$/.test(raw)) return Number(raw);
    return raw;
  }
  return raw;
}

/** The known name within two edits of `name`, if one is. */
export function closest(name: string, candidates: string[]): string | undefined {
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(name, candidate);
    if (distance <= 2 && (best === undefined || distance < best.distance)) best = { candidate, distance };
  }
  return best?.candidate;
}

/** Damerau-Levenshtein (optimal string alignment): a swapped pair of letters counts as one edit. */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  const at = (i: number, j: number): number => rows[i]?.[j] ?? 0;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, at(i - 2, j - 2) + 1);
      (rows[i] as number[])[j] = value;
    }
  }
  return at(a.length, b.length);
}
