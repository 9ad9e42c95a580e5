// XEP-0398 User Avatar to vCard-Based Avatars Conversion: the server puts the hash of the
// account's XEP-0084 avatar into its broadcast presence as XEP-0153 `vcard-temp:x:update`, so
// clients that only know vCard avatars see it (a presence that carries its own is left as is),
// a new avatar becomes the vCard's PHOTO, and a vCard set by an old client becomes the avatar
// (its PHOTO published as data and metadata, as Prosody's mod_vcard_legacy does; a vCard
// without one disables the avatar, with XEP-0084 §4.5's empty metadata rather than a purge).
import { Element, parse } from 'ltx';
import type { Host } from '../../core/host.js';
import { storePersonal } from '../../core/personal-data.js';
import { personalKey } from '../../state/personal.js';
import { createHash } from 'node:crypto';
import { randomId } from '../../random-id.js';
import type { PepService, Published } from './service.js';

export const NS_AVATAR_METADATA = 'urn:xmpp:avatar:metadata';
export const NS_VCARD_UPDATE = 'vcard-temp:x:update';
export const NS_AVATAR_DATA = 'urn:xmpp:avatar:data';
export const NS_PEP_VCARD_CONVERSION = 'urn:xmpp:pep-vcard-conversion:0';
const VCARD_KEY = personalKey({ kind: 'vcard' });

/** The id of the current metadata item is the avatar's SHA-1 (XEP-0084 §4.2); an empty one means none. */
export async function avatarHash(host: Host, user: string): Promise<string | undefined> {
  const found = await host.state.pep.items(user, NS_AVATAR_METADATA, { max: 1 });
  const item = found?.items[0];
  if (!item) return undefined;
  return parse(item.xml).getChild('info') ? item.id : '';
}

export async function addAvatarHash(host: Host, user: string, presence: Element, read?: Promise<string | undefined>): Promise<void> {
  if (presence.getChild('x', NS_VCARD_UPDATE)) return;
  const hash = await (read ?? avatarHash(host, user));
  if (hash === undefined) return;
  const photo = presence.c('x', { xmlns: NS_VCARD_UPDATE }).c('photo');
  if (hash !== '') photo.t(hash);
}

/** How long a hash read at bind may stand in for a read at the first presence. */
const PREFETCH_MS = 10_000;

/**
 * The avatar hash of a binding session, read with its bind's claim, so that its first presence
 * waits for no read of its own. It stands for a read at that presence unless an avatar changed
 * on this node since (a client that publishes its avatar and then sends presence gets the new
 * hash) or it is older than PREFETCH_MS; one changed on another node in between is the same race
 * as one changed right after a read at the presence.
 */
export class AvatarPrefetch {
  private readonly reads = new WeakMap<object, { read: Promise<string | undefined>; generation: number; at: number }>();
  private generation = 0;

  constructor(private readonly host: Host) {}

  start(session: object, user: string): void {
    // A failed read is read again at the presence.
    const read = avatarHash(this.host, user).catch(() => avatarHash(this.host, user));
    read.catch(() => {}); // unhandled until the presence takes it
    this.reads.set(session, { read, generation: this.generation, at: Date.now() });
  }

  /** The session's read, once, if it still stands. */
  take(session: object): Promise<string | undefined> | undefined {
    const entry = this.reads.get(session);
    this.reads.delete(session);
    if (!entry || entry.generation !== this.generation || Date.now() - entry.at > PREFETCH_MS) return undefined;
    return entry.read;
  }

  /** A node's items changed on this node: prefetched hashes stand no more if it was an avatar. */
  changed(node: string): void {
    if (node === NS_AVATAR_METADATA) this.generation += 1;
  }
}

/** A published avatar metadata item: the vCard's PHOTO becomes that avatar (or goes, for none). */
export async function avatarToVcard(host: Host, { owner, node, id, payload }: Published): Promise<void> {
  if (node !== NS_AVATAR_METADATA) return;
  const info = payload.getChildren('info').find((candidate) => candidate.attrs.id === id && candidate.attrs.url === undefined);
  const data = info ? (await host.state.pep.items(owner, NS_AVATAR_DATA, { ids: [id] }))?.items[0] : undefined;
  const stored = await host.state.personal.get(owner, VCARD_KEY);
  const vcard = stored === undefined ? new Element('vCard', { xmlns: 'vcard-temp' }) : parse(stored);
  const type = String(info?.attrs.type ?? 'image/png');
  const binval = data ? parse(data.xml).getText().trim() : undefined;
  const current = vcard.getChild('PHOTO');
  // Already so (the avatar came from this vCard): nothing to write.
  if (binval === undefined ? current === undefined : current?.getChildText('BINVAL')?.replace(/\s+/g, '') === binval && current.getChildText('TYPE') === type) return;
  vcard.children = vcard.children.filter((child) => typeof child === 'string' || child.name !== 'PHOTO');
  if (info && binval !== undefined) {
    const photo = vcard.c('PHOTO');
    photo.c('TYPE').t(type);
    photo.c('BINVAL').t(binval);
  } else if (stored === undefined) {
    return;
  }
  await storePersonal(host, owner, VCARD_KEY, vcard);
}

/** The options Prosody's mod_vcard_legacy creates avatar nodes with (they only shape a new node). */
const AVATAR_OPTIONS = new Map([['pubsub#access_model', ['open']]]);

/** A vCard set by a client: its PHOTO (BINVAL) becomes the XEP-0084 avatar, none disables it. */
export async function vcardToAvatar(host: Host, service: PepService, user: string, vcard: Element): Promise<void> {
  const photo = vcard.getChild('PHOTO');
  const binval = photo?.getChildText('BINVAL')?.replace(/\s+/g, '');
  const current = await avatarHash(host, user);
  if (!binval) {
    if (current !== undefined && current !== '') {
      await service.publish(user, NS_AVATAR_METADATA, randomId(12), new Element('metadata', { xmlns: NS_AVATAR_METADATA }), AVATAR_OPTIONS, { preconditions: false });
    }
    return;
  }
  const raw = Buffer.from(binval, 'base64');
  const hash = createHash('sha1').update(raw).digest('hex');
  if (hash === current) return;
  const attrs: Record<string, string> = { bytes: String(raw.length), id: hash, type: photo?.getChildText('TYPE') ?? 'image/png' };
  await service.publish(user, NS_AVATAR_DATA, hash, new Element('data', { xmlns: NS_AVATAR_DATA }).t(binval), AVATAR_OPTIONS, { preconditions: false });
  await service.publish(user, NS_AVATAR_METADATA, hash, new Element('metadata', { xmlns: NS_AVATAR_METADATA }).c('info', attrs).root(), AVATAR_OPTIONS, { preconditions: false });
}
