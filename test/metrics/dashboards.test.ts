// The shipped Grafana dashboard and Prometheus alerting rules: well-formed, and every metric
// their PromQL names is one a real node exports (scraped from /metrics, not taken from code).
import { readFileSync } from 'node:fs';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { exportedNames, type MetricsNode, startMetricsNode } from './support.js';

const DASHBOARD = 'metrics/grafana/rookery-dashboard.json';
const RULES = 'metrics/prometheus/rookery-alerts.yaml';
/** Series Prometheus writes itself for every target. */
const SYNTHETIC = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped']);

/** PromQL keywords, aggregations and functions used in the files (anything else is a metric). */
const PROMQL_WORDS = new Set([
  'sum', 'min', 'max', 'avg', 'count', 'group', 'stddev', 'stdvar', 'topk', 'bottomk', 'quantile', 'count_values',
  'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset',
  'rate', 'irate', 'increase', 'delta', 'idelta', 'deriv', 'histogram_quantile', 'absent', 'absent_over_time',
  'clamp', 'clamp_min', 'clamp_max', 'label_replace', 'label_join', 'vector', 'scalar', 'time', 'abs', 'inf', 'nan',
]);

/** The metric names in a PromQL expression (or a Grafana target with $variables in it). */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names: string[] = [];
  for (const match of stripped.matchAll(/(\d+(?:\.\d+)?(?:e[+-]?\d+)?[a-z]*)|([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/gi)) {
    const word = match[2];
    if (word === undefined || match[3] !== undefined || PROMQL_WORDS.has(word.toLowerCase())) continue;
    names.push(word);
  }
  return names;
}

interface Panel {
  id?: unknown;
  type?: unknown;
  title?: unknown;
  targets?: Array<{ expr?: unknown; refId?: unknown }>;
}

interface AlertRule {
  alert?: unknown;
  expr?: unknown;
  for?: unknown;
  labels?: { severity?: unknown };
  annotations?: { summary?: unknown };
}

const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { title?: unknown; panels?: Panel[] };
const rules = parseYaml(readFileSync(RULES, 'utf8')) as { groups?: Array<{ name?: unknown; rules?: AlertRule[] }> };
const panels = dashboard.panels ?? [];
const alertRules = (rules.groups ?? []).flatMap((group) => group.rules ?? []);
const dashboardExprs = panels.flatMap((panel) => (panel.targets ?? []).map((target) => String(target.expr)));
const ruleExprs = alertRules.map((rule) => String(rule.expr));

describe('the metric-name reader used on the files', () => {
  it('finds metric names and skips functions, label matchers, ranges, grouping labels and durations', () => {
    expect(metricNames('histogram_quantile(0.99, sum by (instance, le) (rate(rookery_x_bucket{a="b",c=~"$d"}[5m]))) > 0.05')).toEqual(['rookery_x_bucket']);
    expect(metricNames('sum(rate(a_total[1h] offset 5m)) / on (instance) group_left (x) b or absent(up{job=~".*"})')).toEqual(['a_total', 'b', 'up']);
  });
});

describe('the Grafana dashboard', () => {
  it('is JSON with a title and panels, each with a unique id and targets that all have an expression', () => {
    expect(typeof dashboard.title).toBe('string');
    expect(panels.length).toBeGreaterThan(0);
    expect(new Set(panels.map((panel) => panel.id)).size).toBe(panels.length);
    for (const panel of panels) {
      expect([panel.title, Array.isArray(panel.targets) && panel.targets.length > 0]).toEqual([panel.title, true]);
      for (const target of panel.targets ?? []) expect([panel.title, typeof target.expr === 'string' && target.expr.trim() !== '']).toEqual([panel.title, true]);
    }
  });
});

describe('the Prometheus alerting rules', () => {
  it('parse as a rule file: groups of rules with alert, expr, for, labels.severity and annotations.summary', () => {
    expect(Array.isArray(rules.groups) && rules.groups.length > 0).toBe(true);
    for (const group of rules.groups ?? []) {
      expect(typeof group.name).toBe('string');
      expect(Array.isArray(group.rules) && group.rules.length > 0).toBe(true);
    }
    for (const rule of alertRules) {
      expect({ alert: rule.alert, ok: typeof rule.alert === 'string' && /^[A-Z][A-Za-z0-9]+$/.test(rule.alert) }).toEqual({ alert: rule.alert, ok: true });
      expect({ alert: rule.alert, expr: typeof rule.expr === 'string' && rule.expr.trim() !== '' }).toEqual({ alert: rule.alert, expr: true });
      expect({ alert: rule.alert, for: typeof rule.for === 'string' && /^\d+[smhdwy]$/.test(rule.for) }).toEqual({ alert: rule.alert, for: true });
      expect({ alert: rule.alert, severity: rule.labels?.severity }).toEqual({ alert: rule.alert, severity: expect.stringMatching(/^(critical|warning|info)$/) });
      expect({ alert: rule.alert, summary: typeof rule.annotations?.summary === 'string' && rule.annotations.summary !== '' }).toEqual({ alert: rule.alert, summary: true });
    }
    expect(new Set(alertRules.map((rule) => rule.alert)).size).toBe(alertRules.length);
  });

  it('are valid as the groups of a Prometheus Operator PrometheusRule', () => {
    const object = new PrometheusRule({ metadata: { name: 'rookery' }, spec: rules as never });
    expect(() => object.validate()).not.toThrow();
  });

  it('cover a node down, slow Redis, an authentication failure spike, piling hibernation, and dropped or bounced stanzas', () => {
    const byName = new Map(alertRules.map((rule) => [rule.alert, String(rule.expr)]));
    expect(byName.get('RookeryNodeDown')).toMatch(/^up\{.*\} == 0$/);
    expect(byName.get('RookeryNodesAbsent')).toMatch(/^absent\(up\{/);
    expect(byName.get('RookeryRedisLatencyHigh')).toMatch(/histogram_quantile\(0\.99, .*rookery_store_call_duration_seconds_bucket.*> 0\.05$/);
    expect(byName.get('RookeryAuthFailureSpike')).toContain('rookery_authentications_total{outcome="failure"}');
    expect(byName.get('RookeryHibernatingSessionsPilingUp')).toContain('rookery_sm_hibernating_sessions');
    expect(byName.get('RookeryStanzasDropped')).toMatch(/rookery_stanzas_routed_total\{outcome="dropped"\}\) > 0$/);
    expect(byName.get('RookeryStanzasBouncedHigh')).toContain('rookery_stanzas_routed_total{outcome="bounced"}');
  });
});

describe('the metrics the dashboard and the rules use', () => {
  let node: MetricsNode;
  let exported: Set<string>;

  beforeAll(async () => {
    node = await startMetricsNode();
    exported = exportedNames(await node.scrape());
  });
  afterAll(() => node.stop());

  it('are all exported by a running node (histograms as _bucket/_sum/_count)', () => {
    const unknown = [...dashboardExprs, ...ruleExprs].flatMap((expr) => metricNames(expr).filter((name) => !exported.has(name) && !SYNTHETIC.has(name)).map((name) => `${name} in ${expr}`));
    expect(unknown).toEqual([]);
    expect(exported.has('rookery_store_call_duration_seconds_bucket')).toBe(true);
    expect(exported.has('rookery_authentications_total')).toBe(true);
  });

  it('include every Rookery metric on the dashboard, so none is exported and never shown', () => {
    const shown = new Set(dashboardExprs.flatMap(metricNames));
    const families = [...exported].filter((name) => name.startsWith('rookery_') && !/^rookery_(process|nodejs)_/.test(name));
    const histogramParts = (name: string): boolean => /_(sum|count)$/.test(name) && exported.has(name.replace(/_(sum|count)$/, '_bucket'));
    expect(families.filter((name) => !shown.has(name) && !histogramParts(name))).toEqual([]);
  });

  it('name every rule expression after at least one metric', () => {
    expect(ruleExprs.filter((expr) => metricNames(expr).length === 0)).toEqual([]);
  });
});
