// RFC 6121 §2 (roster management) and XEP-0237 (roster versioning), over real sockets.
import type { Element } from 'ltx';
import { describe, expect, it } from 'vitest';
import { type RawClient, xml } from '../support/client.js';
import { useTestServer } from '../support/fixture.js';
import { BACKENDS } from '../support/server.js';

const NS_ROSTER = 'jabber:iq:roster';
const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';

/** A roster push (RFC 6121 §2.1.6) carrying the given item. */
const push = (item: (element: Element) => boolean) => (element: Element): boolean => {
  const query = element.getChild('query', NS_ROSTER);
  const pushed = query?.getChild('item');
  return element.name === 'iq' && element.attrs.type === 'set' && pushed !== undefined && query?.children.length === 1 && item(pushed);
};

const isPush = (element: Element): boolean => element.name === 'iq' && element.attrs.type === 'set' && element.getChild('query', NS_ROSTER) !== undefined;

describe.each(BACKENDS)('roster management (%s backend)', (backend) => {
  const fixture = useTestServer({ backend });
  const user = fixture.user;
  /** A bound resource that has fetched the roster (an interested resource). */
  const interested = async (local: string, resource: string): Promise<RawClient> => {
    const client = await fixture.server.login(local, resource);
    await client.iq('get', `<query xmlns='${NS_ROSTER}'/>`);
    return client;
  };


  describe('get', () => {
    it("returns an empty roster with ver '0' to a client that sent ver=''", async () => {
      const alice = await fixture.server.login(await user('alice'), 'desk');
      alice.send(`<iq type='get' id='r1'><query xmlns='${NS_ROSTER}' ver=''/></iq>`);
      const result = await alice.expect(xml`<iq type='result' id='r1'><query xmlns='${NS_ROSTER}' ver='0'/></iq>`);
      expect(result.getChild('query')?.children).toEqual([]);
    });

    it('returns an empty roster to a client that does not use versioning', async () => {
      const alice = await fixture.server.login(await user('alice'), 'desk');
      alice.send(`<iq type='get' id='r1'><query xmlns='${NS_ROSTER}'/></iq>`);
      const result = await alice.expect(xml`<iq type='result' id='r1'><query xmlns='${NS_ROSTER}'/></iq>`);
      expect(result.getChild('query')?.children).toEqual([]);
    });

    it('returns an empty result when the client already has the current version', async () => {
      const alice = await interested(await user('alice'), 'desk');
      alice.send(`<iq type='set' id='s1'><query xmlns='${NS_ROSTER}'><item jid='nurse@localhost'/></query></iq>`);
      await alice.expect(push(xml`<item jid='nurse@localhost'/>`));
      alice.send(`<iq type='get' id='r2'><query xmlns='${NS_ROSTER}' ver='1'/></iq>`);
      const result = await alice.expect(xml`<iq type='result' id='r2'/>`);
      expect(result.children).toEqual([]);
    });

    it('returns the whole roster when the client has an older version', async () => {
      const alice = await interested(await user('alice'), 'desk');
      alice.send(`<iq type='set' id='s1'><query xmlns='${NS_ROSTER}'><item jid='nurse@localhost' name='Nurse'><group>Servants</group></item></query></iq>`);
      await alice.expect(push(xml`<item jid='nurse@localhost'/>`));
      alice.send(`<iq type='get' id='r2'><query xmlns='${NS_ROSTER}' ver='0'/></iq>`);
      await alice.expect(xml`
        <iq type='result' id='r2'>
          <query xmlns='${NS_ROSTER}' ver='1'>
            <item jid='nurse@localhost' name='Nurse' subscription='none'><group>Servants</group></item>
          </query>
        </iq>`);
    });
  });

  describe('set', () => {
    it('adds an item: the result, then a push of the item with subscription none', async () => {
      const alice = await interested(await user('alice'), 'desk');
      alice.clear();
      alice.send(`<iq type='set' id='add1'><query xmlns='${NS_ROSTER}'><item jid='nurse@localhost' name='Nurse'><group>Servants</group></item></query></iq>`);
      const result = await alice.expect(xml`<iq type='result' id='add1'/>`);
      const pushed = await alice.expect(push(xml`<item jid='nurse@localhost' name='Nurse' subscription='none'><group>Servants</group></item>`));
      expect(result.children).toEqual([]);
      expect(pushed.getChild('query')?.attrs.ver).toBe('1');
      expect(pushed.attrs.to).toBe(alice.jid);
      expect(alice.log.indexOf(result)).toBeLessThan(alice.log.indexOf(pushed));
      const roster = await alice.iq('get', `<query xmlns='${NS_ROSTER}'/>`);
      expect(xml`<iq type='result'><query xmlns='${NS_ROSTER}'><item jid='nurse@localhost' name='Nurse' subscription='none'/></query></iq>`(roster)).toBe(true);
    });

    it('pushes to every interested resource and not to a resource that never fetched the roster', async () => {
      const alice = await user('alice');
      const desk = await interested(alice, 'desk');
      const phone = await interested(alice, 'phone');
      const quiet = await fixture.server.login(alice, 'quiet');
      desk.send(`<iq type='set' id='add1'><query xmlns='${NS_ROSTER}'><item jid='nurse@localhost'/></query></iq>`);
      await desk.expect(xml`<iq type='result' id='add1'/>`);
      await desk.expect(push(xml`<item jid='nurse@localhost' subscription='none'/>`));
      const phonePush = await phone.expect(push(xml`<item jid='nurse@localhost' subscription='none'/>`));
      expect(phonePush.attrs.to).toBe(phone.jid);
      await desk.barrier();
      await quiet.barrier();
      expect(quiet.take(isPush)).toEqual([]);
    });

    it('answers a resource that never fetched the roster but gives it no push', async () => {
      const alice = await user('alice');
      const quiet = await fixture.server.login(alice, 'quiet');
      quiet.send(`<iq type='set' id='add1'><query xmlns='${NS_ROSTER}'><item jid='nurse@localhost'/></query></iq>`);
      await quiet.expect(xml`<iq type='result' id='add1'/>`);
      await quiet.barrier();
      expect(quiet.take(isPush)).toEqual([]);
    });

    it('replaces the name and the groups on update; what is left out is dropped', async () => {
      const alice = await interested(await user('alice'), 'desk');
      alice.send(`<iq type='set' id='u1'><query xmlns='${NS_ROSTER}'><item jid='nurse@localhost' name='Nurse'><group>Servants</group><group>Verona</group></item></query></iq>`);
      await alice.expect(push(xml`<item jid='nurse@localhost' name='Nurse'/>`));
      alice.send(`<iq type='set' id='u2'><query xmlns='${NS_ROSTER}'><item jid='nurse@localhost'><group>Friends</group></item></query></iq>`);
      await alice.expect(xml`<iq type='result' id='u2'/>`);
      const pushed = await alice.expect(push(xml`<item jid='nurse@localhost' subscription='none'><group>Friends</group></item>`));
      const item = pushed.getChild('query')?.getChild('item');
      expect(item?.attrs.name).toBeUndefined();
      expect(item?.getChildren('group').map((group: Element) => group.getText())).toEqual(['Friends']);
    });

    it('ignores subscription and ask sent by the client', async () => {
      const alice = await interested(await user('alice'), 'desk');
      alice.send(`<iq type='set' id='u1'><query xmlns='${NS_ROSTER}'><item jid='nurse@localhost' subscription='both' ask='subscribe'/></query></iq>`);
      await alice.expect(xml`<iq type='result' id='u1'/>`);
      const pushed = await alice.expect(push(xml`<item jid='nurse@localhost' subscription='none'/>`));
      expect(pushed.getChild('query')?.getChild('item')?.attrs.ask).toBeUndefined();
    });

    it("removes an item: the result, then a push with subscription 'remove'", async () => {
      const alice = await interested(await user('alice'), 'desk');
      alice.send(`<iq type='set' id='add1'><query xmlns='${NS_ROSTER}'><item jid='nurse@localhost'/></query></iq>`);
      await alice.expect(push(xml`<item jid='nurse@localhost'/>`));
      alice.clear();
      alice.send(`<iq type='set' id='rm1'><query xmlns='${NS_ROSTER}'><item jid='nurse@localhost' subscription='remove'/></query></iq>`);
      const result = await alice.expect(xml`<iq type='result' id='rm1'/>`);
      const pushed = await alice.expect(push(xml`<item jid='nurse@localhost' subscription='remove'/>`));
      expect(pushed.getChild('query')?.attrs.ver).toBe('2');
      expect(alice.log.indexOf(result)).toBeLessThan(alice.log.indexOf(pushed));
      const roster = await alice.iq('get', `<query xmlns='${NS_ROSTER}'/>`);
      expect(roster.getChild('query')?.children).toEqual([]);
    });

    it('answers the removal of an unknown item with item-not-found', async () => {
      const alice = await interested(await user('alice'), 'desk');
      alice.send(`<iq type='set' id='rm1'><query xmlns='${NS_ROSTER}'><item jid='stranger@localhost' subscription='remove'/></query></iq>`);
      await alice.expect(xml`<iq type='error' id='rm1'><error type='cancel'><item-not-found xmlns='${NS_STANZAS}'/></error></iq>`);
      await alice.barrier();
      expect(alice.take(isPush)).toEqual([]);
    });

    it("answers a set of the user's own JID with not-allowed", async () => {
      const local = await user('alice');
      const alice = await interested(local, 'desk');
      alice.send(`<iq type='set' id='self'><query xmlns='${NS_ROSTER}'><item jid='${local}@localhost'/></query></iq>`);
      await alice.expect(xml`<iq type='error' id='self'><error type='cancel'><not-allowed xmlns='${NS_STANZAS}'/></error></iq>`);
    });

    it('answers an item with a resource with bad-request', async () => {
      const alice = await interested(await user('alice'), 'desk');
      alice.send(`<iq type='set' id='res'><query xmlns='${NS_ROSTER}'><item jid='nurse@localhost/balcony'/></query></iq>`);
      await alice.expect(xml`<iq type='error' id='res'><error type='modify'><bad-request xmlns='${NS_STANZAS}'/></error></iq>`);
    });

    it('answers a set with two items with bad-request and changes nothing', async () => {
      const alice = await interested(await user('alice'), 'desk');
      alice.send(`<iq type='set' id='two'><query xmlns='${NS_ROSTER}'><item jid='nurse@localhost'/><item jid='friar@localhost'/></query></iq>`);
      await alice.expect(xml`<iq type='error' id='two'><error type='modify'><bad-request xmlns='${NS_STANZAS}'/></error></iq>`);
      const roster = await alice.iq('get', `<query xmlns='${NS_ROSTER}'/>`);
      expect(roster.getChild('query')?.children).toEqual([]);
    });

    it('answers an item with the same group twice with bad-request (RFC 6121 §2.3.3)', async () => {
      const alice = await interested(await user('alice'), 'desk');
      alice.send(`<iq type='set' id='dup'><query xmlns='${NS_ROSTER}'><item jid='nurse@localhost'><group>Servants</group><group>Servants</group></item></query></iq>`);
      await alice.expect(xml`<iq type='error' id='dup'><error type='modify'><bad-request xmlns='${NS_STANZAS}'/></error></iq>`);
      const roster = await alice.iq('get', `<query xmlns='${NS_ROSTER}'/>`);
      expect(roster.getChild('query')?.children).toEqual([]);
    });

    it('answers an empty group with not-acceptable (RFC 6121 §2.3.3)', async () => {
      const alice = await interested(await user('alice'), 'desk');
      alice.send(`<iq type='set' id='empty'><query xmlns='${NS_ROSTER}'><item jid='nurse@localhost'><group/></item></query></iq>`);
      await alice.expect(xml`<iq type='error' id='empty'><error type='modify'><not-acceptable xmlns='${NS_STANZAS}'/></error></iq>`);
    });

    it("answers a set addressed to another account's roster with forbidden (RFC 6121 §2.1.5)", async () => {
      const alice = await interested(await user('alice'), 'desk');
      const bobLocal = await user('bob');
      const bob = await interested(bobLocal, 'desk');
      alice.send(`<iq type='set' id='other' to='${bob.bare}'><query xmlns='${NS_ROSTER}'><item jid='nurse@localhost'/></query></iq>`);
      await alice.expect(xml`<iq type='error' id='other' from='${bob.bare}'><error type='auth'><forbidden xmlns='${NS_STANZAS}'/></error></iq>`);
      await alice.barrier();
      await bob.barrier();
      expect(bob.take(isPush)).toEqual([]);
    });

    it('answers a set without an item, or an item without a jid, with bad-request', async () => {
      const alice = await interested(await user('alice'), 'desk');
      alice.send(`<iq type='set' id='none'><query xmlns='${NS_ROSTER}'/></iq>`);
      await alice.expect(xml`<iq type='error' id='none'><error type='modify'><bad-request xmlns='${NS_STANZAS}'/></error></iq>`);
      alice.send(`<iq type='set' id='nojid'><query xmlns='${NS_ROSTER}'><item name='Who'/></query></iq>`);
      await alice.expect(xml`<iq type='error' id='nojid'><error type='modify'><bad-request xmlns='${NS_STANZAS}'/></error></iq>`);
    });
  });

  describe('versioning', () => {
    it('increments the version on each change, and a get with that version is answered empty', async () => {
      const alice = await interested(await user('alice'), 'desk');
      const versions: string[] = [];
      const changes = [
        "<item jid='nurse@localhost'/>",
        "<item jid='friar@localhost'/>",
        "<item jid='nurse@localhost' name='Nurse'/>",
        "<item jid='friar@localhost' subscription='remove'/>",
      ];
      for (const [i, item] of changes.entries()) {
        alice.send(`<iq type='set' id='v${i}'><query xmlns='${NS_ROSTER}'>${item}</query></iq>`);
        await alice.expect(xml`<iq type='result' id='v${i}'/>`);
        const pushed = await alice.expect(isPush);
        versions.push(String(pushed.getChild('query')?.attrs.ver));
      }
      expect(versions).toEqual(['1', '2', '3', '4']);
      alice.send(`<iq type='get' id='full'><query xmlns='${NS_ROSTER}' ver=''/></iq>`);
      const full = await alice.expect(xml`<iq type='result' id='full'><query xmlns='${NS_ROSTER}' ver='4'><item jid='nurse@localhost' name='Nurse'/></query></iq>`);
      expect(full.getChild('query')?.getChildren('item')).toHaveLength(1);
      alice.send(`<iq type='get' id='same'><query xmlns='${NS_ROSTER}' ver='4'/></iq>`);
      const same = await alice.expect(xml`<iq type='result' id='same'/>`);
      expect(same.children).toEqual([]);
    });

    it('keeps the version when a change is refused', async () => {
      const alice = await interested(await user('alice'), 'desk');
      alice.send(`<iq type='set' id='a'><query xmlns='${NS_ROSTER}'><item jid='nurse@localhost'/></query></iq>`);
      await alice.expect(push(xml`<item jid='nurse@localhost'/>`));
      alice.send(`<iq type='set' id='b'><query xmlns='${NS_ROSTER}'><item jid='stranger@localhost' subscription='remove'/></query></iq>`);
      await alice.expect(xml`<iq type='error' id='b'/>`);
      alice.send(`<iq type='get' id='c'><query xmlns='${NS_ROSTER}' ver='1'/></iq>`);
      const same = await alice.expect(xml`<iq type='result' id='c'/>`);
      expect(same.children).toEqual([]);
    });
  });
});
