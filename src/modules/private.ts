// XEP-0049 Private XML Storage (legacy XEP-0048 bookmarks live here): an account stores and reads
// elements under its own bare JID, each keyed by the element's name and namespace. As in Prosody's
// mod_private: exactly one child per query (not-acceptable otherwise), never in the jabber:client
// or jabber:server namespace (§3: not-acceptable), and no access to another account's storage
// (forbidden). A get of something never stored answers the element as asked, empty; a set of an
// empty element clears it.
import { Element, parse } from 'ltx';
import type { IqRequest } from '../core/iq.js';
import type { Module } from '../core/module.js';
import { personalKey } from '../state/personal.js';
import { StanzaError } from '../xmpp/errors.js';
import { isEmptyElement, storePersonal } from '../core/personal-data.js';

export const NS_PRIVATE = 'jabber:iq:private';
const RESERVED = new Set(['jabber:client', 'jabber:server']);

/** The one child of the query, and its key; not-acceptable for anything else. */
function requestedItem(request: IqRequest): { child: Element; key: string } {
  const children = request.payload.getChildElements();
  const child = children[0];
  if (children.length !== 1 || !child) throw new StanzaError('not-acceptable', 'A private XML query holds exactly one element');
  const namespace = String(child.attrs.xmlns ?? '');
  if (namespace === '' || RESERVED.has(namespace)) throw new StanzaError('not-acceptable', `The namespace ${namespace || '(none)'} cannot be stored`);
  return { child, key: personalKey({ kind: 'private', name: child.name, namespace }) };
}

export const privateModule: Module = {
  name: 'private',
  load(api) {
    const { host } = api;
    api.feature(NS_PRIVATE);

    api.iq('self', 'get', NS_PRIVATE, 'query', async (request) => {
      const { child, key } = requestedItem(request);
      const stored = await host.state.personal.get(request.from.bare, key);
      const query = new Element('query', { xmlns: NS_PRIVATE });
      query.cnode(stored === undefined ? new Element(child.name, { xmlns: child.attrs.xmlns as string }) : parse(stored));
      return query;
    });

    api.iq('self', 'set', NS_PRIVATE, 'query', async (request) => {
      const { child, key } = requestedItem(request);
      if (isEmptyElement(child)) await host.state.personal.remove(request.from.bare, key);
      else await storePersonal(host, request.from.bare, key, child);
    });

    const forbidden = (): never => {
      throw new StanzaError('forbidden', "Another account's private storage is not accessible");
    };
    api.iq('bare', 'get', NS_PRIVATE, 'query', forbidden);
    api.iq('bare', 'set', NS_PRIVATE, 'query', forbidden);
  },
};
