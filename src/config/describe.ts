// The configuration as people read it: the effective settings with secrets masked (check-config,
// the start log line) and the README's Configuration table, both rendered from the catalogue.
import { yamlModule } from './load.js';
import { allSettings, type Config } from './schema.js';
import { maskUrlPassword, REDACTED } from './types.js';

export type EffectiveConfig = Record<string, unknown> & { limits: Record<string, unknown> };

/** The settings with every secret masked: safe to print and to log. */
export function maskedConfig(config: Config): EffectiveConfig {
  const { limits, ...rest } = config;
  const masked: EffectiveConfig = { ...rest, limits: { ...limits } };
  if (config.redisUrl !== undefined) masked.redisUrl = maskUrlPassword(config.redisUrl);
  for (const { path, setting } of allSettings()) {
    if (setting.secret && path !== 'redisUrl' && masked[path] !== undefined) masked[path] = REDACTED;
  }
  return masked;
}

/** The masked configuration as check-config prints it; unset optional settings show as null. */
export function renderConfig(config: Config, format: 'yaml' | 'json'): string {
  const masked = maskedConfig(config);
  const withUnset = Object.fromEntries(
    allSettings()
      .filter(({ path }) => !path.startsWith('limits.'))
      .map(({ path }) => [path, masked[path] ?? null]),
  );
  const shown = { ...withUnset, limits: masked.limits };
  return format === 'json' ? `${JSON.stringify(shown, null, 2)}\n` : yamlModule().stringify(shown);
}

export const TABLE_START = '<!-- settings:start (generated from src/config/schema.ts by `npm run docs:config`) -->';
export const TABLE_END = '<!-- settings:end -->';

/** The README's Configuration table: one row per setting. */
export function settingsTable(): string {
  const rows = allSettings().map(({ path, setting }) => {
    const variables = [setting.env, ...(setting.aliases ?? [])].map((name) => `\`${name}\``).join(', ');
    const fallback = setting.defaultText ?? (setting.default === undefined ? 'unset' : `\`${String(setting.default)}\``);
    return `| ${variables} | \`${path}\` | ${setting.type} | ${fallback} | ${setting.description} |`;
  });
  return ['| variable | YAML key | type | default | meaning |', '|---|---|---|---|---|', ...rows].join('\n');
}

/** The README with its table replaced by the one the catalogue renders. */
export function withSettingsTable(readme: string): string {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error(`README.md has no ${TABLE_START} … ${TABLE_END} section`);
  return `${readme.slice(0, start + TABLE_START.length)}\n${settingsTable()}\n${readme.slice(end)}`;
}
