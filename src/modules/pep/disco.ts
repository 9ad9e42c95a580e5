// XEP-0060 §5.2 to §5.5 on a PEP service: disco#items on the account lists its nodes, disco#info
// on a node gives its identity and meta-data form, disco#items on a node its item ids. Prosody's
// mod_pep lists every node to the owner and to presence subscribers alike; here each node is
// listed to whom its own access model lets read it (so a whitelist node's name stays private).
import { Element } from 'ltx';
import type { AccountNodes, Host } from '../../core/host.js';
import { StanzaError } from '../../xmpp/errors.js';
import { allows, checkAccess } from './access.js';
import { NS_DATA, NS_PUBSUB } from './forms.js';

const FORM_META_DATA = 'http://jabber.org/protocol/pubsub#meta-data';

function field(form: Element, name: string, type: string, values: string[]): void {
  const element = form.c('field', { var: name, type });
  for (const value of values) element.c('value').t(value);
}

export function pepDisco(host: Host): AccountNodes {
  return {
    async items(owner, requester) {
      const nodes = await host.state.pep.nodes(owner);
      const item = requester === owner ? undefined : (await host.state.rosters.entry(owner, requester)).item;
      const listed: Element[] = [];
      for (const [node, config] of nodes) {
        if (requester !== owner && !allows(config, requester, item)) continue;
        listed.push(new Element('item', config.title === undefined ? { jid: owner, node } : { jid: owner, node, name: config.title }));
      }
      return listed;
    },

    async nodeInfo(owner, requester, node) {
      const config = await host.state.pep.config(owner, node);
      if (!config) throw new StanzaError('item-not-found');
      await checkAccess(host, owner, requester, config);
      const form = new Element('x', { xmlns: NS_DATA, type: 'result' });
      field(form, 'FORM_TYPE', 'hidden', [FORM_META_DATA]);
      field(form, 'pubsub#owner', 'jid-multi', [owner]);
      if (config.title !== undefined) field(form, 'pubsub#title', 'text-single', [config.title]);
      field(form, 'pubsub#access_model', 'list-single', [config.access_model]);
      field(form, 'pubsub#publish_model', 'list-single', ['publishers']);
      field(form, 'pubsub#max_items', 'text-single', [String(config.max_items)]);
      return [new Element('identity', { category: 'pubsub', type: 'leaf' }), new Element('feature', { var: NS_PUBSUB }), form];
    },

    async nodeItems(owner, requester, node) {
      const config = await host.state.pep.config(owner, node);
      if (!config) throw new StanzaError('item-not-found');
      await checkAccess(host, owner, requester, config);
      const found = await host.state.pep.items(owner, node);
      return (found?.items ?? []).map((item) => new Element('item', { jid: owner, name: item.id }));
    },
  };
}

