// XEP-0092 Software Version: name and version only; the operating system is left out, as its
// security considerations advise.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Element } from 'ltx';
import type { Module } from '../core/module.js';
import { NS_VERSION } from '../xmpp/ns.js';

export const SOFTWARE_NAME = 'Rookery';

let cachedVersion: string | undefined;

/** The version in Rookery's package.json, read once; searched upwards so a built copy finds it too. */
export function softwareVersion(): string {
  if (cachedVersion !== undefined) return cachedVersion;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 6; depth++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'rookery' && typeof pkg.version === 'string') return (cachedVersion = pkg.version);
    } catch {
      // not here; keep climbing
    }
    dir = dirname(dir);
  }
  return (cachedVersion = 'unknown');
}

export const versionModule: Module = {
  name: 'version',
  load(api) {
    const version = softwareVersion();
    api.feature(NS_VERSION);
    api.iq('host', 'get', NS_VERSION, 'query', () => {
      const query = new Element('query', { xmlns: NS_VERSION });
      query.c('name').t(SOFTWARE_NAME);
      query.c('version').t(version);
      return query;
    });
  },
};
