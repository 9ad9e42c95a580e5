// XEP-0398 from vCard to PEP: a vCard PHOTO set by a client that only knows XEP-0153 becomes the
// XEP-0084 avatar (data and metadata, notified to contacts with metadata+notify, its hash in
// presence), and a vCard without one disables it. Independent clients, on one node and across
// nodes ('cluster').
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { befriend, xml } from '../support/client.js';
import { announce, eventItems, itemsXml, publishXml } from '../support/pep.js';
import { BACKENDS, useTestServer } from '../support/server.js';

const METADATA = 'urn:xmpp:avatar:metadata';
const DATA = 'urn:xmpp:avatar:data';
const BINVAL = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
const HASH = createHash('sha1').update(Buffer.from(BINVAL, 'base64')).digest('hex');

describe.each(BACKENDS)('vCard PHOTO to XEP-0084 avatar (%s backend)', (backend) => {
  const fixture = useTestServer({ backend });
  const { user } = fixture;


  const metadataItem = (id: string): string => `<metadata xmlns='${METADATA}'><info id='${id}' type='image/png' bytes='70'/></metadata>`;
  const photoOf = (presence: { getChild(name: string, xmlns?: string): { getChildText(name: string): string | null } | undefined }): string | null | undefined =>
    presence.getChild('x', 'vcard-temp:x:update')?.getChildText('photo');

  it('puts the stored avatar hash in the first presence of a new login (read with its bind)', async () => {
    const a = await user('carol');
    const first = await fixture.server.login(a, 'one');
    expect((await first.iq('set', publishXml(METADATA, HASH, metadataItem(HASH)))).attrs.type).toBe('result');
    await first.close();
    const again = await fixture.server.login(a, 'two');
    again.send('<presence/>');
    const reflected = await again.expect((element) => element.name === 'presence' && element.attrs.from === again.jid);
    expect(photoOf(reflected)).toBe(HASH);
    await again.close();
  });

  it('puts an avatar published between the bind and the first presence in that presence', async () => {
    const a = await user('dora');
    const client = await fixture.server.login(a, 'one');
    expect((await client.iq('set', publishXml(METADATA, 'old', metadataItem('old')))).attrs.type).toBe('result');
    await client.close();
    const again = await fixture.server.login(a, 'two');
    // Bound with the old avatar read; a new one is published before the presence.
    expect((await again.iq('set', publishXml(METADATA, HASH, metadataItem(HASH)))).attrs.type).toBe('result');
    again.send('<presence/>');
    const reflected = await again.expect((element) => element.name === 'presence' && element.attrs.from === again.jid);
    expect(photoOf(reflected)).toBe(HASH);
    await again.close();
  });

  it('publishes a vCard PHOTO as the avatar, and disables it for a vCard without one', async () => {
    const [a, b] = [await user('alice'), await user('bob')];
    const alice = await fixture.server.login(a, 'old');
    const bob = await fixture.server.login(b, 'modern');
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
