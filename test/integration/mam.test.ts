// XEP-0313 message archive and XEP-0359 stanza-ids, over real sockets, on one node and with the
// parties on different nodes ('cluster').
import type { Element } from 'ltx';
import { describe, expect, it } from 'vitest';
import type { RawClient } from '../support/client.js';
import { condition, useTestServer } from '../support/fixture.js';
import { BACKENDS } from '../support/server.js';

const NS_MAM = 'urn:xmpp:mam:2';
const NS_SID = 'urn:xmpp:sid:0';
const NS_RSM = 'http://jabber.org/protocol/rsm';
const DOMAIN = 'localhost';

interface Page {
  results: { id: string; body: string; from: string }[];
  fin: Element;
}

let queries = 0;

/** Runs one MAM query and collects its results up to the iq result. */
async function mam(client: RawClient, fields: Record<string, string | string[]> = {}, rsm = '', extra = ''): Promise<Page & { reply: Element }> {
  const queryId = `q${++queries}`;
  const form = Object.entries(fields)
    .map(([name, value]) => `<field var='${name}'>${(Array.isArray(value) ? value : [value]).map((v) => `<value>${v}</value>`).join('')}</field>`)
    .join('');
  const reply = await client.iq(
    'set',
    `<query xmlns='${NS_MAM}' queryid='${queryId}'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>${NS_MAM}</value></field>${form}</x>${rsm}${extra}</query>`,
  );
  const results = client
    .take((element) => element.getChild('result', NS_MAM)?.attrs.queryid === queryId)
    .map((message) => {
      const result = message.getChild('result', NS_MAM) as Element;
      const inner = result.getChild('forwarded')?.getChild('message');
      return { id: String(result.attrs.id), body: inner?.getChildText('body') ?? '', from: String(inner?.attrs.from ?? '') };
    });
  return { results, fin: reply.getChild('fin', NS_MAM) as Element, reply };
}

const stanzaId = (message: Element, by: string): string | undefined =>
  message.getChildren('stanza-id', NS_SID).find((id) => id.attrs.by === by)?.attrs.id as string | undefined;

describe.each(BACKENDS)('XEP-0313 message archive (%s backend)', (backend) => {
  const fixture = useTestServer({ backend });
  const user = fixture.user;

  /** A bound and available resource (a message to the bare JID reaches it, RFC 6121 §8.5.2.1). */
  const online = async (local: string, resource: string): Promise<RawClient> => {
    const client = await fixture.server.login(local, resource);
    client.send('<presence/>');
    await client.expect((element) => element.name === 'presence' && element.attrs.from === client.jid);
    client.clear();
    return client;
  };

  const chat = (from: RawClient, to: string, body: string, id: string): void => {
    from.send(`<message to='${to}@${DOMAIN}' type='chat' id='${id}'><body>${body}</body></message>`);
  };

  it("lists urn:xmpp:mam:2, its #extended form and stanza-ids in the account's disco#info", async () => {
    const alice = await fixture.server.login(await user('alice'), 'desk');
    const info = await alice.iq('get', "<query xmlns='http://jabber.org/protocol/disco#info'/>", alice.jid?.split('/')[0]);
    const features = info.getChild('query')?.getChildren('feature').map((feature) => feature.attrs.var);
    expect(features).toEqual(expect.arrayContaining([NS_MAM, `${NS_MAM}#extended`, NS_SID]));
  });

  it("archives a chat in both archives and gives the delivered copy the recipient's archive id", async () => {
    const [a, b] = [await user('alice'), await user('bob')];
    const alice = await online(a, 'desk');
    const bob = await online(b, 'desk');
    chat(alice, b, 'hello bob', 'm1');
    const delivered = await bob.expect((element) => element.name === 'message' && element.getChildText('body') === 'hello bob');
    const id = stanzaId(delivered, `${b}@${DOMAIN}`);
    expect(id).toMatch(/^\d+-\d+$/);
    const bobs = await mam(bob);
    expect(bobs.results).toStrictEqual([{ id, body: 'hello bob', from: alice.jid }]);
    expect(bobs.fin.attrs.complete).toBe('true');
    const alices = await mam(alice);
    expect(alices.results.map((result) => result.body)).toStrictEqual(['hello bob']);
  });

  it('gives history to a second device that logs in later, with the ids the offline copies carry', async () => {
    const [a, b] = [await user('alice'), await user('bob')];
    const alice = await online(a, 'desk');
    for (let n = 1; n <= 3; n++) chat(alice, b, `offline ${n}`, `o${n}`);
    await alice.barrier();
    const phone = await fixture.server.login(b, 'phone');
    phone.send('<presence/>');
    const offline = await Promise.all([1, 2, 3].map((n) => phone.expect((element) => element.name === 'message' && element.getChildText('body') === `offline ${n}`)));
    const history = await mam(phone, { with: `${a}@${DOMAIN}` });
    expect(history.results.map((result) => result.body)).toStrictEqual(['offline 1', 'offline 2', 'offline 3']);
    expect(history.results.map((result) => result.id)).toStrictEqual(offline.map((message) => stanzaId(message, `${b}@${DOMAIN}`)));
    const tablet = await fixture.server.login(b, 'tablet');
    expect((await mam(tablet, {}, `<set xmlns='${NS_RSM}'><max>2</max><before/></set>`)).results.map((result) => result.body)).toStrictEqual(['offline 2', 'offline 3']);
  });

  it('pages forwards and backwards through 500 messages with first, last, count and complete', async () => {
    const [a, b] = [await user('alice'), await user('bob')];
    const { state } = fixture.server.server.host;
    const limits = { maxEntries: 1000, maxAgeMs: 86_400_000, dedupeWindowMs: 60_000 };
    const start = Date.now() - 600_000;
    for (let n = 0; n < 500; n++) {
      await state.archive.append(`${b}@${DOMAIN}`, { with: `${a}@${DOMAIN}`, xml: `<message xmlns='jabber:client' from='${a}@${DOMAIN}/desk' type='chat'><body>n${n}</body></message>`, stamp: start + n }, limits);
    }
    const bob = await online(b, 'desk');
    const forward: string[] = [];
    let after = '';
    for (;;) {
      const page = await mam(bob, {}, `<set xmlns='${NS_RSM}'><max>120</max>${after ? `<after>${after}</after>` : ''}</set>`);
      forward.push(...page.results.map((result) => result.body));
      expect(page.fin.getChild('set')?.getChildText('count')).toBe('500');
      expect(page.fin.getChild('set')?.getChildText('first')).toBe(page.results[0]?.id);
      after = page.fin.getChild('set')?.getChildText('last') ?? '';
      if (page.fin.attrs.complete === 'true') break;
    }
    expect(forward).toStrictEqual(Array.from({ length: 500 }, (_, n) => `n${n}`));
    const backward: string[] = [];
    let before = '';
    for (;;) {
      const page = await mam(bob, {}, `<set xmlns='${NS_RSM}'><max>120</max><before>${before}</before></set>`);
      backward.unshift(...page.results.map((result) => result.body));
      before = page.fin.getChild('set')?.getChildText('first') ?? '';
      if (page.fin.attrs.complete === 'true') break;
    }
    expect(backward).toStrictEqual(forward);
    const flipped = await mam(bob, {}, `<set xmlns='${NS_RSM}'><max>3</max><before/></set>`, '<flip-page/>');
    expect(flipped.results.map((result) => result.body)).toStrictEqual(['n499', 'n498', 'n497']);
  });

  it('filters by contact, by time and by ids, and answers item-not-found for an unknown id', async () => {
    const [a, b, c] = [await user('alice'), await user('bob'), await user('carol')];
    const alice = await online(a, 'desk');
    const bob = await online(b, 'desk');
    const carol = await online(c, 'desk');
    chat(bob, a, 'from bob 1', 'b1');
    await alice.expect((element) => element.getChildText('body') === 'from bob 1');
    // Archive times have millisecond precision: keep the two sides of `middle` apart.
    await new Promise((resolve) => setTimeout(resolve, 3));
    const middle = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 3));
    chat(carol, a, 'from carol', 'c1');
    await alice.expect((element) => element.getChildText('body') === 'from carol');
    chat(bob, a, 'from bob 2', 'b2');
    const last = await alice.expect((element) => element.getChildText('body') === 'from bob 2');
    expect((await mam(alice, { with: `${b}@${DOMAIN}` })).results.map((r) => r.body)).toStrictEqual(['from bob 1', 'from bob 2']);
    expect((await mam(alice, { start: middle })).results.map((r) => r.body)).toStrictEqual(['from carol', 'from bob 2']);
    expect((await mam(alice, { with: `${c}@${DOMAIN}`, end: middle })).results).toStrictEqual([]);
    const lastId = stanzaId(last, `${a}@${DOMAIN}`) as string;
    expect((await mam(alice, { ids: [lastId] })).results.map((r) => r.body)).toStrictEqual(['from bob 2']);
    expect((await mam(alice, { 'before-id': lastId })).results.map((r) => r.body)).toStrictEqual(['from bob 1', 'from carol']);
    const unknown = await mam(alice, {}, `<set xmlns='${NS_RSM}'><after>1-0</after></set>`);
    expect(unknown.reply.attrs.type).toBe('error');
    expect(condition(unknown.reply)).toBe('item-not-found');
  });

  it('honours the preferences: never for one contact, then default never', async () => {
    const [a, b, c] = [await user('alice'), await user('bob'), await user('carol')];
    const alice = await online(a, 'desk');
    const bob = await online(b, 'desk');
    const carol = await online(c, 'desk');
    const set = await alice.iq('set', `<prefs xmlns='${NS_MAM}' default='always'><always/><never><jid>${b}@${DOMAIN}</jid></never></prefs>`);
    expect(set.getChild('prefs')?.getChild('never')?.getChildText('jid')).toBe(`${b}@${DOMAIN}`);
    chat(bob, a, 'not kept', 'p1');
    const unkept = await alice.expect((element) => element.getChildText('body') === 'not kept');
    expect(stanzaId(unkept, `${a}@${DOMAIN}`)).toBeUndefined();
    chat(carol, a, 'kept', 'p2');
    await alice.expect((element) => element.getChildText('body') === 'kept');
    expect((await mam(alice)).results.map((r) => r.body)).toStrictEqual(['kept']);
    await alice.iq('set', `<prefs xmlns='${NS_MAM}' default='never'/>`);
    const got = await alice.iq('get', `<prefs xmlns='${NS_MAM}'/>`);
    expect(got.getChild('prefs')?.attrs.default).toBe('never');
    chat(carol, a, 'not kept either', 'p3');
    await alice.expect((element) => element.getChildText('body') === 'not kept either');
    expect((await mam(alice)).results.map((r) => r.body)).toStrictEqual(['kept']);
    // Bob's own archive still has what he sent.
    expect((await mam(bob)).results.map((r) => r.body)).toStrictEqual(['not kept']);
  });

  it('archives a re-sent message (same id, same resource) once and delivers it with the same stanza-id', async () => {
    const [a, b] = [await user('alice'), await user('bob')];
    const alice = await online(a, 'desk');
    const bob = await online(b, 'desk');
    chat(alice, b, 'once', 'same-id');
    const first = await bob.expect((element) => element.getChildText('body') === 'once');
    chat(alice, b, 'once', 'same-id');
    const again = await bob.expect((element) => element.getChildText('body') === 'once');
    expect(stanzaId(again, `${b}@${DOMAIN}`)).toBe(stanzaId(first, `${b}@${DOMAIN}`));
    expect((await mam(bob)).results).toHaveLength(1);
    expect((await mam(alice)).results).toHaveLength(1);
  });

  it('keeps chat states alone and errors out of the archive, and strips a forged stanza-id', async () => {
    const [a, b] = [await user('alice'), await user('bob')];
    const alice = await online(a, 'desk');
    const bob = await online(b, 'desk');
    alice.send(`<message to='${b}@${DOMAIN}' type='chat' id='s1'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>`);
    await bob.expect((element) => element.getChild('composing') !== undefined);
    alice.send(`<message to='${b}@${DOMAIN}' type='chat' id='s2'><body>real</body><stanza-id xmlns='${NS_SID}' by='${b}@${DOMAIN}' id='forged'/></message>`);
    const real = await bob.expect((element) => element.getChildText('body') === 'real');
    expect(real.getChildren('stanza-id', NS_SID).map((id) => id.attrs.id)).not.toContain('forged');
    expect((await mam(bob)).results.map((r) => r.body)).toStrictEqual(['real']);
  });

  it('agrees with carbons: one archive entry per archive, one carbon per other resource, each carrying the archive id', async () => {
    const [a, b] = [await user('alice'), await user('bob')];
    const desk = await online(a, 'desk');
    const laptop = await online(a, 'laptop');
    const phone = await online(b, 'phone');
    const tablet = await online(b, 'tablet');
    for (const client of [desk, laptop, phone, tablet]) expect((await client.iq('set', "<enable xmlns='urn:xmpp:carbons:2'/>")).attrs.type).toBe('result');
    // Bob's phone gets priority so that the message goes to it and the tablet gets the carbon.
    phone.send('<presence><priority>5</priority></presence>');
    await phone.expect((element) => element.name === 'presence' && element.attrs.from === phone.jid);
    chat(desk, b, 'carbon me', 'cc1');
    const delivered = await phone.expect((element) => element.getChildText('body') === 'carbon me');
    const received = await tablet.expect((element) => element.getChild('received', 'urn:xmpp:carbons:2') !== undefined);
    const sent = await laptop.expect((element) => element.getChild('sent', 'urn:xmpp:carbons:2') !== undefined);
    const inner = (carbon: Element, direction: string): Element => carbon.getChild(direction)?.getChild('forwarded')?.getChild('message') as Element;
    const bobId = stanzaId(delivered, `${b}@${DOMAIN}`);
    expect(stanzaId(inner(received, 'received'), `${b}@${DOMAIN}`)).toBe(bobId);
    expect(inner(sent, 'sent').getChildText('body')).toBe('carbon me');
    await Promise.all([desk, laptop, phone, tablet].map((client) => client.barrier()));
    expect(tablet.take((element) => element.getChild('received', 'urn:xmpp:carbons:2') !== undefined)).toStrictEqual([]);
    expect(laptop.take((element) => element.getChild('sent', 'urn:xmpp:carbons:2') !== undefined)).toStrictEqual([]);
    expect((await mam(tablet)).results.map((r) => r.id)).toStrictEqual([bobId]);
    expect((await mam(laptop)).results.map((r) => r.body)).toStrictEqual(['carbon me']);
  });

  it("answers metadata with the first and last entry, and forbids another account's archive", async () => {
    const [a, b] = [await user('alice'), await user('bob')];
    const alice = await online(a, 'desk');
    const bob = await online(b, 'desk');
    const empty = await alice.iq('get', `<metadata xmlns='${NS_MAM}'/>`);
    expect(empty.getChild('metadata')?.children).toStrictEqual([]);
    chat(bob, a, 'one', 'x1');
    chat(bob, a, 'two', 'x2');
    const second = await alice.expect((element) => element.getChildText('body') === 'two');
    const meta = (await alice.iq('get', `<metadata xmlns='${NS_MAM}'/>`)).getChild('metadata');
    expect(meta?.getChild('end')?.attrs.id).toBe(stanzaId(second, `${a}@${DOMAIN}`));
    expect(meta?.getChild('start')?.attrs.timestamp).toMatch(/^\d{4}-\d\d-\d\dT/);
    const other = await bob.iq('set', `<query xmlns='${NS_MAM}'/>`, `${a}@${DOMAIN}`);
    expect(condition(other)).toBe('forbidden');
  });
});
