// rookery.example.yaml: every setting of the catalogue (src/config/schema.ts) with its default and
// its meaning, as a YAML file `rookery --config` reads. `npm run docs:config` writes it and
// test/unit/config-docs.test.ts fails when it differs. A setting whose default is computed on the
// machine (the node id: the host name) is left commented out, so that a copied file does not give
// every node the same value.
import { stringify } from 'yaml';
import { allSettings, type Setting } from '../src/config/schema.js';

export const EXAMPLE_FILE = 'rookery.example.yaml';

const WIDTH = 100;

const HEADER = `# Rookery configuration: every setting, each with its default value.
# Generated from src/config/schema.ts by \`npm run docs:config\`; edit a copy, not this file.
#
#   rookery check-config --config rookery.yaml    # validate, print the effective settings
#   rookery start --config rookery.yaml           # or ROOKERY_CONFIG=rookery.yaml
#
# Environment variables (named on each setting) override the file. \`null\` leaves an optional
# setting unset. README.md, "Configuration", has the same catalogue as a table.
`;

/** Words wrapped into comment lines of at most WIDTH characters (after the indent). */
function comment(text: string, indent: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && indent.length + 2 + line.length + 1 + word.length > WIDTH) {
      lines.push(`${indent}# ${line}`);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(`${indent}# ${line}`);
  return lines;
}

/** A scalar as YAML writes it: `null` for an unset optional setting. */
function scalar(value: unknown): string {
  return value === undefined ? 'null' : stringify(value).trimEnd();
}

function entry(key: string, setting: Setting, indent: string): string[] {
  const sentence = setting.description.charAt(0).toUpperCase() + setting.description.slice(1);
  const variables = [setting.env, ...(setting.aliases ?? [])].join(', ');
  const lines = comment(`${sentence}. Environment: ${variables}.`, indent);
  if (setting.defaultText !== undefined) {
    lines.push(...comment(`Default: the ${setting.defaultText}.`, indent), `${indent}# ${key}: ${scalar(setting.type === 'integer' ? 0 : 'node-1')}`);
  } else {
    lines.push(`${indent}${key}: ${scalar(setting.default)}`);
  }
  return lines;
}

/** The whole file. */
export function exampleConfig(): string {
  const out: string[] = [HEADER];
  let inLimits = false;
  for (const { path, setting } of allSettings()) {
    const isLimit = path.startsWith('limits.');
    if (isLimit && !inLimits) {
      inLimits = true;
      out.push(...comment('Limits: sizes, rates and caps that protect a node from its clients (RFC 6120 §13.12).', ''), 'limits:');
    }
    out.push(...entry(isLimit ? path.slice('limits.'.length) : path, setting, isLimit ? '  ' : ''));
    out.push('');
  }
  return `${out.join('\n').trimEnd()}\n`;
}
