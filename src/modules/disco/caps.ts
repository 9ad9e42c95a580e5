// XEP-0115 Entity Capabilities in stream features (§6.3): lets a client skip the server's
// disco#info when it has seen this ver before. The ver comes from index.ts (disco), so the two agree.
import type { Module } from '../../core/module.js';
import { NS_CAPS } from '../../xmpp/ns.js';
import { CAPS_NODE, serverCapsVer } from './index.js';

export const capsModule: Module = {
  name: 'caps',
  load(api) {
    const { host } = api;
    api.hook('stream-features', ({ features }) => {
      features.c('c', { xmlns: NS_CAPS, hash: 'sha-1', node: CAPS_NODE, ver: serverCapsVer(host) });
    });
  },
};
