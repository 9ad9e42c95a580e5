// XEP-0115 entity capabilities of clients, resolved once for the whole cluster: the first node
// that sees an unknown ver claims it (CapsStore.claim), asks the announcing resource for
// disco#info node#ver, checks the hash (§5.4, extended forms included) and stores the features
// for every node. Each node caches what it read (a verified ver never changes meaning).
import { createHash } from 'node:crypto';
import { Element, parse } from 'ltx';
import type { Host } from '../../core/host.js';
import type { C2SSession } from '../../core/session.js';
import { randomId } from '../../random-id.js';
import { NS_CAPS, NS_DISCO_INFO } from '../../xmpp/ns.js';
import { domainOf } from '../../xmpp/jid-string.js';
import { stanzaType } from '../../xmpp/stanza.js';

export interface Caps {
  node: string;
  ver: string;
}

/** Who announced caps and is asked for them: a session of ours, or a remote contact's resource (through the router). */
export interface Announcer {
  jid: string;
  send(query: Element): void;
  /** The announcer went away meanwhile: stop waiting. */
  gone(): boolean;
}

/** A local session as an announcer. */
export function sessionAnnouncer(session: C2SSession): Announcer {
  return { jid: session.full_jid as string, send: (query) => session.send(query), gone: () => session.destroyed };
}

const NS_DATA = 'jabber:x:data';
const CACHE = 10_000;
const CLAIM_MS = 30_000;
const QUERY_TIMEOUT_MS = 20_000;
/** While another node resolves a ver: look again after these delays, then give up. */
const WAITS_MS = [250, 500, 1000, 2000, 4000, 8000];
/** An unknown ver is read from the store again after this long (it may have been resolved). */
const UNKNOWN_MS = 2000;

const octets = (a: string, b: string): number => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

/** XEP-0115 §5.1 and §5.4: identities, features, then extended forms by FORM_TYPE; SHA-1, base64. */
export function capsHash(query: Element): string | undefined {
  const identities = query.getChildren('identity').map((identity) =>
    [identity.attrs.category, identity.attrs.type, identity.attrs['xml:lang'] ?? '', identity.attrs.name ?? ''].map(String).join('/'));
  const features = query.getChildren('feature').map((feature) => String(feature.attrs.var));
  if (new Set(identities).size !== identities.length || new Set(features).size !== features.length) return undefined; // §5.4 3.b, 3.c
  let input = '';
  for (const identity of identities.sort(octets)) input += `${identity}<`;
  for (const feature of features.sort(octets)) input += `${feature}<`;
  const forms: Array<{ type: string; fields: Array<{ name: string; values: string[] }> }> = [];
  for (const form of query.getChildren('x', NS_DATA)) {
    const fields = form.getChildren('field').map((field) => ({ name: String(field.attrs.var ?? ''), values: field.getChildren('value').map((value) => value.getText()) }));
    const type = fields.find((field) => field.name === 'FORM_TYPE');
    if (!type) continue; // §5.4 3.f: a form without FORM_TYPE is ignored
    forms.push({ type: type.values[0] ?? '', fields: fields.filter((field) => field.name !== 'FORM_TYPE') });
  }
  if (new Set(forms.map((form) => form.type)).size !== forms.length) return undefined; // §5.4 3.d
  for (const form of forms.sort((a, b) => octets(a.type, b.type))) {
    input += `${form.type}<`;
    for (const field of form.fields.sort((a, b) => octets(a.name, b.name))) {
      input += `${field.name}<`;
      for (const value of [...field.values].sort(octets)) input += `${value}<`;
    }
  }
  return createHash('sha1').update(input, 'utf8').digest('base64');
}

export class ClientCaps {
  /** Features of verified vers. */
  private readonly known = new Map<string, ReadonlySet<string>>();
  /** Vers the store did not know when last asked, and when. */
  private readonly unknown = new Map<string, number>();
  /** A presence's caps, by the presence XML (the registry stores presence as XML). */
  private readonly parsed = new Map<string, Caps | null>();
  /** Our queries by id: who must answer, and what to do with the answer. */
  private readonly waiting = new Map<string, { from: string; answer: (reply: Element) => void }>();

  constructor(private readonly host: Host) {}

  /** The sha-1 caps of a presence (others cannot be verified, so they announce nothing). */
  capsOf(presence: Element | string): Caps | undefined {
    if (typeof presence !== 'string') return readCaps(presence);
    let caps = this.parsed.get(presence);
    if (caps === undefined) {
      try {
        caps = readCaps(parse(presence)) ?? null;
      } catch {
        caps = null;
      }
      remember(this.parsed, presence, caps);
    }
    return caps ?? undefined;
  }

  /** The features of a ver this node holds already (no store read): the fan-out's fast path. */
  cached(ver: string): ReadonlySet<string> | undefined {
    return this.known.get(ver);
  }

  /** The features of a ver, from this node's cache or the shared store; undefined if not resolved yet. */
  async features(ver: string): Promise<ReadonlySet<string> | undefined> {
    const cached = this.known.get(ver);
    if (cached) return cached;
    const missed = this.unknown.get(ver);
    if (missed !== undefined && Date.now() - missed < UNKNOWN_MS) return undefined;
    const stored = await this.host.state.caps.features(ver);
    if (!stored) {
      remember(this.unknown, ver, Date.now());
      return undefined;
    }
    const features = new Set(stored);
    this.unknown.delete(ver);
    remember(this.known, ver, features);
    return features;
  }

  /**
   * The features of an announcer's caps: known ones at once; an unknown ver is asked of this
   * announcer when this node wins the claim, or waited for while another node asks. A remote
   * resource's answer comes back to our domain over the stream its presence came by, so to the
   * node that asked.
   */
  async resolve(announcer: Announcer, caps: Caps): Promise<ReadonlySet<string> | undefined> {
    const known = await this.features(caps.ver);
    if (known) return known;
    if (await this.host.state.caps.claim(caps.ver, CLAIM_MS)) return this.ask(announcer, caps);
    for (const wait of WAITS_MS) {
      await new Promise((resolve) => setTimeout(resolve, wait).unref());
      if (announcer.gone()) return undefined;
      this.unknown.delete(caps.ver);
      const features = await this.features(caps.ver);
      if (features) return features;
    }
    return undefined;
  }

  /** A result or error addressed to the server: true when it answers one of our queries. */
  answered(stanza: Element): boolean {
    const id = stanza.attrs.id;
    const type = stanzaType(stanza);
    if (typeof id !== 'string' || (type !== 'result' && type !== 'error')) return false;
    const waiter = this.waiting.get(id);
    // An answer from anyone but the resource asked is not ours (another client guessing ids).
    if (!waiter || stanza.attrs.from !== waiter.from) return false;
    this.waiting.delete(id);
    waiter.answer(stanza);
    return true;
  }

  private async ask(announcer: Announcer, caps: Caps): Promise<ReadonlySet<string> | undefined> {
    const id = `caps-${randomId(9)}`;
    const node = `${caps.node}#${caps.ver}`;
    const reply = await new Promise<Element | undefined>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        resolve(undefined);
      }, QUERY_TIMEOUT_MS);
      timer.unref();
      this.waiting.set(id, {
        from: announcer.jid,
        answer: (stanza) => {
          clearTimeout(timer);
          resolve(stanza);
        },
      });
      announcer.send(new Element('iq', { type: 'get', id, from: this.host.domain, to: announcer.jid }).c('query', { xmlns: NS_DISCO_INFO, node }).root());
    });
    const query = reply && stanzaType(reply) === 'result' ? reply.getChild('query', NS_DISCO_INFO) : undefined;
    if (!query || capsHash(query) !== caps.ver) {
      this.host.log.info({ event: 'caps_unverified', remote: domainOf(announcer.jid) !== this.host.domain, outcome: query ? 'hash-mismatch' : 'no-answer' });
      return undefined;
    }
    const features = query.getChildren('feature').map((feature) => String(feature.attrs.var));
    await this.host.state.caps.store(caps.ver, features);
    const set = new Set(features);
    this.unknown.delete(caps.ver);
    remember(this.known, caps.ver, set);
    return set;
  }
}

function readCaps(presence: Element): Caps | undefined {
  const c = presence.getChild('c', NS_CAPS);
  if (!c || c.attrs.hash !== 'sha-1' || typeof c.attrs.node !== 'string' || typeof c.attrs.ver !== 'string' || c.attrs.ver === '') return undefined;
  return { node: c.attrs.node, ver: c.attrs.ver };
}

/** Sets a key in a bounded map (oldest entry out). */
function remember<V>(map: Map<string, V>, key: string, value: V): void {
  if (!map.has(key) && map.size >= CACHE) map.delete(map.keys().next().value as string);
  map.set(key, value);
}
