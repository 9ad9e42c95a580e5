// XEP-0398 from vCard to PEP: a vCard PHOTO set by a client that only knows XEP-0153 becomes the
// XEP-0084 avatar (data and metadata, notified to contacts with metadata+notify, its hash in
// presence), and a vCard without one disables it. Independent clients, on one node and across
// nodes ('cluster').
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { befriend, xml } from '../support/client.js';
import { announce, eventItems, itemsXml } from '../support/pep.js';
import { BACKENDS, startTestServer, type TestServer } from '../support/server.js';

const METADATA = 'urn:xmpp:avatar:metadata';
const DATA = 'urn:xmpp:avatar:data';
const BINVAL = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
const HASH = createHash('sha1').update(Buffer.from(BINVAL, 'base64')).digest('hex');

describe.each(BACKENDS)('vCard PHOTO to XEP-0084 avatar (%s backend)', (backend) => {
  let server: TestServer;
  let n = 0;
  const user = async (prefix: string): Promise<string> => {
    const local = `${prefix}${++n}`;
    await server.createUser(local);
    return local;
  };

  beforeAll(async () => {
    server = await startTestServer({ backend });
  });
  afterAll(() => server.stop());

  it('publishes a vCard PHOTO as the avatar, and disables it for a vCard without one', async () => {
    const [a, b] = [await user('alice'), await user('bob')];
    const alice = await server.login(a, 'old');
    const bob = await server.login(b, 'modern');
    await befriend(alice, bob);
    await announce(bob, [METADATA]);
    await bob.barrier();
    bob.clear();
    const set = await alice.iq('set', `<vCard xmlns='vcard-temp'><FN>Alice</FN><PHOTO><TYPE>image/png</TYPE><BINVAL>${BINVAL}</BINVAL></PHOTO></vCard>`);
    expect(set.attrs.type).toBe('result');
    const event = await bob.expect((element) => eventItems(element, METADATA) !== undefined);
    expect(xml`<message from='${alice.bare}'><event><items node='${METADATA}'><item id='${HASH}'><metadata xmlns='${METADATA}'><info id='${HASH}' type='image/png' bytes='${String(Buffer.from(BINVAL, 'base64').length)}'/></metadata></item></items></event></message>`(event)).toBe(true);
    const data = await bob.iq('get', `<pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='${DATA}'><item id='${HASH}'/></items></pubsub>`, alice.bare);
    expect(data.getChild('pubsub')?.getChild('items')?.getChild('item')?.getChildText('data')).toBe(BINVAL);
    // The vCard stays as it was set, its PHOTO included.
    const vcard = await bob.iq('get', "<vCard xmlns='vcard-temp'/>", alice.bare);
    expect(xml`<iq type='result'><vCard xmlns='vcard-temp'><FN>Alice</FN><PHOTO><TYPE>image/png</TYPE><BINVAL>${BINVAL}</BINVAL></PHOTO></vCard></iq>`(vcard)).toBe(true);
    alice.send('<presence/>');
    const presence = await bob.expect((element) => element.name === 'presence' && element.attrs.from === alice.jid);
    expect(xml`<presence><x xmlns='vcard-temp:x:update'><photo>${HASH}</photo></x></presence>`(presence)).toBe(true);
    // The same vCard again publishes nothing new.
    await alice.iq('set', `<vCard xmlns='vcard-temp'><FN>Alice L.</FN><PHOTO><TYPE>image/png</TYPE><BINVAL>${BINVAL}</BINVAL></PHOTO></vCard>`);
    await alice.barrier();
    await bob.barrier();
    expect(bob.take((element) => eventItems(element, METADATA) !== undefined)).toEqual([]);
    await alice.iq('set', "<vCard xmlns='vcard-temp'><FN>Alice</FN></vCard>");
    const disabled = await bob.expect((element) => eventItems(element, METADATA) !== undefined);
    expect(eventItems(disabled, METADATA)?.getChild('item')?.getChild('metadata')?.getChildElements()).toEqual([]);
    const metadata = await bob.iq('get', itemsXml(METADATA, " max_items='1'"), alice.bare);
    expect(metadata.getChild('pubsub')?.getChild('items')?.getChild('item')?.getChild('metadata')?.getChild('info')).toBeUndefined();
  });
});
