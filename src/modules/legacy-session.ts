// RFC 3921 §3 session establishment, kept for old clients as RFC 6121 Appendix E allows: the
// feature is marked optional and the iq is a no-op answered with an empty result.
import type { Module } from '../core/module.js';
import { NS_SESSION } from '../xmpp/ns.js';

export const legacySessionModule: Module = {
  name: 'legacy-session',
  load(api) {
    api.hook('stream-features', ({ session, features }) => {
      if (session.type === 'c2s_unbound') features.c('session', { xmlns: NS_SESSION }).c('optional');
    });
    api.iq('self', 'set', NS_SESSION, 'session', () => undefined);
  },
};
