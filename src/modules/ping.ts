// XEP-0199 XMPP Ping: the server answers for itself and, as Prosody does, on an account's behalf
// (iq-routing.ts has already refused accounts that do not exist).
import type { Module } from '../core/module.js';
import { NS_PING } from '../xmpp/ns.js';

export const pingModule: Module = {
  name: 'ping',
  load(api) {
    api.feature(NS_PING);
    api.iq(['host', 'self', 'bare'], 'get', NS_PING, 'ping', () => undefined);
  },
};
