// XEP-0060 §5.2 to §5.5 on PEP: what disco#items on an account and disco#info / disco#items on
// one of its nodes answer, each requester seeing what the node's access model lets it read. Two
// and three independent clients, on one node and with the parties on different nodes ('cluster').
import type { Element } from 'ltx';
import { describe, expect, it } from 'vitest';
import { befriend, xml } from '../support/client.js';
import { condition } from '../support/fixture.js';
import { publishXml } from '../support/pep.js';
import { BACKENDS, useTestServer } from '../support/server.js';

const NS_INFO = 'http://jabber.org/protocol/disco#info';
const NS_ITEMS = 'http://jabber.org/protocol/disco#items';
const OWNER = "xmlns='http://jabber.org/protocol/pubsub#owner'";
const listedNodes = (reply: Element): string[] => (reply.getChild('query')?.getChildren('item') ?? []).map((item) => String(item.attrs.node)).sort();

describe.each(BACKENDS)('PEP nodes in service discovery (%s backend)', (backend) => {
  const fixture = useTestServer({ backend });
  const { user } = fixture;


  it('lists the account\'s nodes to each requester as their access models allow', async () => {
    const [a, b, c] = [await user('alice'), await user('bob'), await user('carol')];
    const alice = await fixture.server.login(a, 'phone');
    const bob = await fixture.server.login(b, 'laptop');
    const carol = await fixture.server.login(c, 'desk');
    await befriend(alice, bob);
    await alice.iq('set', publishXml('urn:test:open', '1', "<x xmlns='urn:test'/>", { 'pubsub#access_model': 'open' }));
    await alice.iq('set', publishXml('urn:test:presence', '1', "<x xmlns='urn:test'/>"));
    await alice.iq('set', publishXml('urn:test:private', '1', "<x xmlns='urn:test'/>", { 'pubsub#access_model': 'whitelist' }));
    const form = "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/pubsub#node_config</value></field><field var='pubsub#title'><value>Open things</value></field></x>";
    await alice.iq('set', `<pubsub ${OWNER}><configure node='urn:test:open'>${form}</configure></pubsub>`);
    const own = await alice.iq('get', `<query xmlns='${NS_ITEMS}'/>`);
    expect(listedNodes(own)).toEqual(['urn:test:open', 'urn:test:presence', 'urn:test:private']);
    expect(xml`<iq type='result'><query xmlns='${NS_ITEMS}'><item jid='${alice.bare}' node='urn:test:open' name='Open things'/></query></iq>`(own)).toBe(true);
    expect(listedNodes(await bob.iq('get', `<query xmlns='${NS_ITEMS}'/>`, alice.bare))).toEqual(['urn:test:open', 'urn:test:presence']);
    expect(listedNodes(await carol.iq('get', `<query xmlns='${NS_ITEMS}'/>`, alice.bare))).toEqual(['urn:test:open']);
  });

  it('describes a node with disco#info and lists its items with disco#items, with the access model\'s errors', async () => {
    const [a, b] = [await user('alice'), await user('bob')];
    const alice = await fixture.server.login(a, 'phone');
    const bob = await fixture.server.login(b, 'laptop');
    await alice.iq('set', publishXml('urn:test:open', 'one', "<x xmlns='urn:test'/>", { 'pubsub#access_model': 'open', 'pubsub#max_items': '5' }));
    await alice.iq('set', publishXml('urn:test:open', 'two', "<x xmlns='urn:test'/>"));
    await alice.iq('set', publishXml('urn:test:presence', '1', "<x xmlns='urn:test'/>"));
    const info = await bob.iq('get', `<query xmlns='${NS_INFO}' node='urn:test:open'/>`, alice.bare);
    expect(xml`<iq type='result' from='${alice.bare}'><query xmlns='${NS_INFO}' node='urn:test:open'><identity category='pubsub' type='leaf'/><feature var='http://jabber.org/protocol/pubsub'/><x xmlns='jabber:x:data' type='result'><field var='FORM_TYPE'><value>http://jabber.org/protocol/pubsub#meta-data</value></field><field var='pubsub#access_model'><value>open</value></field><field var='pubsub#owner'><value>${alice.bare}</value></field></x></query></iq>`(info)).toBe(true);
    const items = await bob.iq('get', `<query xmlns='${NS_ITEMS}' node='urn:test:open'/>`, alice.bare);
    expect((items.getChild('query')?.getChildren('item') ?? []).map((item) => [item.attrs.jid, item.attrs.name])).toEqual([[alice.bare, 'two'], [alice.bare, 'one']]);
    expect(condition(await bob.iq('get', `<query xmlns='${NS_INFO}' node='urn:test:presence'/>`, alice.bare))).toBe('not-authorized');
    expect(condition(await bob.iq('get', `<query xmlns='${NS_ITEMS}' node='urn:test:presence'/>`, alice.bare))).toBe('not-authorized');
    expect(condition(await bob.iq('get', `<query xmlns='${NS_INFO}' node='urn:test:none'/>`, alice.bare))).toBe('item-not-found');
    const ownInfo = await alice.iq('get', `<query xmlns='${NS_INFO}' node='urn:test:presence'/>`);
    expect(xml`<iq type='result'><query node='urn:test:presence'><identity category='pubsub' type='leaf'/></query></iq>`(ownInfo)).toBe(true);
  });
});
