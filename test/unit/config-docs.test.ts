// The docs and the chart cannot drift from the settings catalogue: the README's table is what the
// catalogue renders, and every chart value passed to the node has the type the node accepts.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { settingsTable, withSettingsTable } from '../../src/config/describe.js';
import { envVariables } from '../../src/config/env.js';
import { loadConfig } from '../../src/config/load.js';
import { allSettings, defaultConfig, type Setting } from '../../src/config/schema.js';
import { EXAMPLE_FILE, exampleConfig } from '../../scripts/config-example.js';

const root = new URL('../../', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, root), 'utf8');

interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  properties?: Record<string, JsonSchema>;
}

/** Chart value path (under .Values) → the variable the ConfigMap passes it as. */
function chartVariables(): Map<string, string> {
  const mapping = new Map<string, string>();
  for (const match of read('helm/rookery/templates/configmap.yaml').matchAll(/^\s*(ROOKERY_[A-Z0-9_]+): \{\{ \.Values\.([\w.]+)/gm)) {
    mapping.set(match[2] as string, match[1] as string);
  }
  // `{{- with .Values.config.heartbeatMs }} ROOKERY_HEARTBEAT_MS: {{ . … }}`
  for (const match of read('helm/rookery/templates/configmap.yaml').matchAll(/with \.Values\.([\w.]+) \}\}\s*\n\s*(ROOKERY_[A-Z0-9_]+):/g)) {
    mapping.set(match[1] as string, match[2] as string);
  }
  return mapping;
}

function settingOf(variable: string): Setting {
  const known = envVariables().get(variable);
  const entry = allSettings().find(({ path }) => path === known?.path);
  if (!entry) throw new Error(`${variable} names no setting`);
  return entry.setting;
}

/** The chart's values that are single settings: under config (not the nested limits mapping) and proxyProtocol. */
function chartSettings(): Array<{ value: string; schema: JsonSchema }> {
  const schema = JSON.parse(read('helm/rookery/values.schema.json')) as JsonSchema;
  const walk = (prefix: string, node: JsonSchema): Array<{ value: string; schema: JsonSchema }> =>
    Object.entries(node.properties ?? {}).flatMap(([key, child]) => (child.properties ? walk(`${prefix}.${key}`, child) : [{ value: `${prefix}.${key}`, schema: child }]));
  return ['config', 'proxyProtocol'].flatMap((section) => walk(section, schema.properties?.[section] ?? {}));
}

describe('the README', () => {
  it("has the Configuration table the settings catalogue renders (npm run docs:config rewrites it)", () => {
    const readme = read('README.md');
    expect(readme).toContain(settingsTable());
    expect(withSettingsTable(readme)).toBe(readme);
  });

  it('names every setting and every variable', () => {
    const readme = read('README.md');
    for (const { path, setting } of allSettings()) {
      expect(readme).toContain(`\`${path}\``);
      expect(readme).toContain(`\`${setting.env}\``);
    }
  });
});

describe('rookery.example.yaml', () => {
  const example = (): string => read(EXAMPLE_FILE);

  it('is what the settings catalogue renders (npm run docs:config rewrites it)', () => {
    expect(example()).toBe(exampleConfig());
  });

  it('names every setting under its YAML key, with its variable', () => {
    const text = example();
    for (const { path, setting } of allSettings()) {
      const key = path.startsWith('limits.') ? `\n  ${path.slice('limits.'.length)}: ` : `\n${path}: `;
      const commented = `\n# ${path}: `;
      expect(text.includes(key) || text.includes(commented), path).toBe(true);
      expect(text).toContain(setting.env);
    }
  });

  it('loads as the defaults', () => {
    const file = new URL(EXAMPLE_FILE, root).pathname;
    expect(loadConfig({ file, env: {}, checkFiles: false })).toEqual(defaultConfig());
  });
});

describe('the Helm chart', () => {
  const variables = chartVariables();

  it('passes every config and proxyProtocol value to the node as a variable the node knows', () => {
    const values = chartSettings().map(({ value }) => value);
    expect(values.length).toBeGreaterThan(10);
    for (const value of values) {
      const variable = variables.get(value);
      expect(variable, `${value} is passed to the node`).toBeDefined();
      expect(envVariables().has(variable as string), `${variable} is a setting`).toBe(true);
    }
  });

  it('gives every config and proxyProtocol value the type, range and choices of its setting', () => {
    for (const { value, schema } of chartSettings()) {
      const setting = settingOf(variables.get(value) as string);
      const expected = z.toJSONSchema(setting.schema, { unrepresentable: 'any' }) as JsonSchema;
      const types = [schema.type].flat().filter((type) => type !== 'null');
      expect(types, value).toEqual([setting.type]);
      if (setting.type === 'integer') {
        expect(schema.minimum, `${value} minimum`).toBe(expected.minimum);
        if (schema.maximum !== undefined) expect(schema.maximum, `${value} maximum`).toBeLessThanOrEqual(expected.maximum ?? Number.MAX_SAFE_INTEGER);
      }
      if (schema.enum !== undefined) expect(schema.enum, `${value} choices`).toEqual(expected.enum);
    }
  });

  it('sets no ROOKERY_ variable the node would refuse', () => {
    const templates = ['configmap.yaml', 'deployment.yaml', 'secret.yaml'].map((file) => read(`helm/rookery/templates/${file}`)).join('\n');
    const named = new Set([...templates.matchAll(/\b(ROOKERY_[A-Z0-9_]+)\b/g)].map((match) => match[1] as string));
    expect([...named].filter((name) => !envVariables().has(name))).toEqual([]);
  });
});
