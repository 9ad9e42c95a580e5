// XEP-0092 Software Version: name and version only; the operating system is left out, as its
// security considerations advise.
import { Element } from 'ltx';
import type { Module } from '../core/module.js';
import { VERSION } from '../version.js';
import { NS_VERSION } from '../xmpp/ns.js';

export const SOFTWARE_NAME = 'Rookery';

/** The version in Rookery's package.json (src/version.ts). */
export function softwareVersion(): string {
  return VERSION;
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
