// XEP-0398 User Avatar to vCard-Based Avatars Conversion: the server puts the hash of the
// account's XEP-0084 avatar into its broadcast presence as XEP-0153 `vcard-temp:x:update`, so
// clients that only know vCard avatars see it. A presence that carries its own is left as is.
import { type Element, parse } from 'ltx';
import type { Host } from '../../core/host.js';

export const NS_AVATAR_METADATA = 'urn:xmpp:avatar:metadata';
export const NS_VCARD_UPDATE = 'vcard-temp:x:update';

/** The id of the current metadata item is the avatar's SHA-1 (XEP-0084 §4.2); an empty one means none. */
export async function avatarHash(host: Host, user: string): Promise<string | undefined> {
  const found = await host.state.pep.items(user, NS_AVATAR_METADATA, { max: 1 });
  const item = found?.items[0];
  if (!item) return undefined;
  return parse(item.xml).getChild('info') ? item.id : '';
}

export async function addAvatarHash(host: Host, user: string, presence: Element): Promise<void> {
  if (presence.getChild('x', NS_VCARD_UPDATE)) return;
  const hash = await avatarHash(host, user);
  if (hash === undefined) return;
  const photo = presence.c('x', { xmlns: NS_VCARD_UPDATE }).c('photo');
  if (hash !== '') photo.t(hash);
}
