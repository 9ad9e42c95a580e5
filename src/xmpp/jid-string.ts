// Cheap operations on JID strings that are already prepared (RFC 7622 §3.1 split rules).

/** The bare part of a prepared JID string. */
export function bareOf(jid: string): string {
  const slash = jid.indexOf('/');
  return slash === -1 ? jid : jid.slice(0, slash);
}

/** The resource of a prepared full JID string, or '' for a bare JID. */
export function resourceOf(jid: string): string {
  const slash = jid.indexOf('/');
  return slash === -1 ? '' : jid.slice(slash + 1);
}

/** The domainpart of a prepared JID string. */
export function domainOf(jid: string): string {
  const bare = bareOf(jid);
  return bare.slice(bare.indexOf('@') + 1);
}

/** The localpart of a prepared bare JID string, or '' for a domain JID. */
export function localOf(bare: string): string {
  const at = bare.indexOf('@');
  return at === -1 ? '' : bare.slice(0, at);
}
