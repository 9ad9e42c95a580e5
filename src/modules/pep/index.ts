// XEP-0163 Personal Eventing Protocol: a pubsub service (XEP-0060) on every account's bare JID,
// its nodes in state.pep (shared by every node of the cluster). service.ts answers the pubsub
// requests, notify.ts sends the events by interest (XEP-0115 caps, caps.ts), avatar.ts adds the
// XEP-0398 avatar hash to presence. Hook registrations are at the bottom.
import type { Element } from 'ltx';
import type { Host } from '../../core/host.js';
import type { IqRequest } from '../../core/iq.js';
import type { Module } from '../../core/module.js';
import type { C2SSession } from '../../core/session.js';
import { StanzaError } from '../../xmpp/errors.js';
import { stanzaType } from '../../xmpp/stanza.js';
import { addAvatarHash, AvatarPrefetch, avatarToVcard, NS_PEP_VCARD_CONVERSION, vcardToAvatar } from './avatar.js';
import { bookmarksWriteBack, legacyBookmarks, legacyPepListener, migrateLegacy, NS_BOOKMARKS, NS_BOOKMARKS_CONVERSION } from './bookmarks.js';
import { type Caps, ClientCaps, sessionAnnouncer } from './caps.js';
import { DirectedPresence } from './directed.js';
import { pepDisco } from './disco.js';
import { NS_PUBSUB, NS_PUBSUB_OWNER } from './forms.js';
import { lastItemsToSubscriber, sendLastItems } from './notify.js';
import { onRemotePresence } from './remote.js';
import { onDefaultOptions, onOptionsGet, onOptionsSet } from './options.js';
import { PepService } from './service.js';
import { onOwnAffiliations, onOwnSubscriptions, onSubscribe, onUnsubscribe } from './subscriptions.js';

/** XEP-0060 §10 features a PEP account supports (its disco#info lists them). */
const ACCOUNT_FEATURES = [
  `${NS_BOOKMARKS}#compat`,
  NS_BOOKMARKS_CONVERSION,
  NS_PEP_VCARD_CONVERSION,
];

const PUBSUB_FEATURES = [
  'access-open', 'access-presence', 'access-roster', 'access-whitelist', 'auto-create', 'auto-subscribe',
  'config-node', 'create-and-configure', 'create-nodes', 'delete-items', 'delete-nodes', 'filtered-notifications',
  'item-ids', 'last-published', 'manage-subscriptions', 'modify-affiliations', 'persistent-items', 'presence-notifications',
  'presence-subscribe', 'publish', 'publish-options', 'purge-nodes', 'retract-items', 'retrieve-affiliations', 'retrieve-default-sub',
  'retrieve-items', 'retrieve-subscriptions', 'subscribe', 'subscription-options',
].map((feature) => `${NS_PUBSUB}#${feature}`).concat(ACCOUNT_FEATURES);

async function onSet(host: Host, service: PepService, request: IqRequest): Promise<Element | void> {
  const children = request.payload.getChildElements();
  // <options/> follows a <subscribe/> (XEP-0060 §6.3.7), or stands alone to set them (§6.3.5).
  const element = children.find((child) => child.name !== 'publish-options' && child.name !== 'options') ?? children.find((child) => child.name === 'options');
  switch (element?.name) {
    case 'publish':
      return service.onPublish(request);
    case 'retract':
      return service.onRetract(request);
    case 'create':
      return service.onCreate(request);
    case 'subscribe':
      return onSubscribe(host, request, element);
    case 'unsubscribe':
      return onUnsubscribe(host, request, element);
    case 'options':
      return onOptionsSet(host, request, element);
    default:
      throw new StanzaError('feature-not-implemented', `pubsub ${String(element?.name)} is not supported on PEP`);
  }
}

async function onGet(host: Host, service: PepService, request: IqRequest): Promise<Element> {
  const element = request.payload.getChildElements()[0];
  switch (element?.name) {
    case 'subscriptions':
      return onOwnSubscriptions(host, request, element);
    case 'affiliations':
      return onOwnAffiliations(host, request, element);
    case 'options':
      return onOptionsGet(host, request, element);
    case 'default':
      return onDefaultOptions(host, request, element);
    default:
      return items(host, service, request);
  }
}

/** Items; the account's own bookmarks, when there are none yet, may first come from private XML. */
async function items(host: Host, service: PepService, request: IqRequest): Promise<Element> {
  try {
    return await service.onItems(request);
  } catch (error) {
    const node = request.payload.getChild('items')?.attrs.node;
    const own = request.from.bare === request.to.bare;
    if (!(error instanceof StanzaError) || error.condition !== 'item-not-found' || node !== NS_BOOKMARKS || !own) throw error;
    if (!(await migrateLegacy(host, service, request.to.bare))) throw error;
    return service.onItems(request);
  }
}

/** A resource's broadcast presence with caps: resolve them, then send the last items it wants. */
function onPresence(host: Host, caps: ClientCaps, seen: WeakMap<C2SSession, string>, session: C2SSession, announced: Caps): void {
  if (seen.get(session) === announced.ver) return;
  seen.set(session, announced.ver);
  void (async () => {
    const features = await caps.resolve(sessionAnnouncer(session), announced);
    if (features && !session.destroyed && seen.get(session) === announced.ver) await sendLastItems(host, session, features);
  })().catch((error: unknown) => host.log.error({ event: 'pep_presence_failed', session: session.id, err: error }));
}

export const pepModule: Module = {
  name: 'pep',
  load(api) {
    const { host } = api;
    const caps = new ClientCaps(host);
    const service = new PepService(host, caps);
    const seen = new WeakMap<C2SSession, string>();
    const avatars = new AvatarPrefetch(host);
    const directed = new DirectedPresence(host, caps);
    service.listeners.push((published) => avatarToVcard(host, published), legacyPepListener(host, service));
    service.changeListeners.push(bookmarksWriteBack(host, service), async (_owner, node) => avatars.changed(node));

    host.accountDisco.identities.set('pubsub/pep', { category: 'pubsub', type: 'pep' });
    host.accountDisco.nodes = pepDisco(host);
    for (const feature of PUBSUB_FEATURES) host.accountDisco.features.add(feature);
    api.onUnload(() => {
      host.accountDisco.identities.delete('pubsub/pep');
      host.accountDisco.nodes = undefined;
      for (const feature of PUBSUB_FEATURES) host.accountDisco.features.delete(feature);
    });

    api.iq(['self', 'bare'], 'set', NS_PUBSUB, 'pubsub', (request) => onSet(host, service, request));
    api.iq(['self', 'bare'], 'get', NS_PUBSUB, 'pubsub', (request) => onGet(host, service, request));
    api.iq(['self', 'bare'], 'get', NS_PUBSUB_OWNER, 'pubsub', (request) => service.onOwnerGet(request));
    api.iq(['self', 'bare'], 'set', NS_PUBSUB_OWNER, 'pubsub', (request) => service.onOwnerSet(request));

    // Before iq-routing hands it to the private module (XEP-0402 §5.3).
    api.hook('iq/bare', (routed) => legacyBookmarks(host, service, routed), 5);
    api.hook('vcard-set', async ({ user, vcard }) => {
      await vcardToAvatar(host, service, user, vcard).catch((error: unknown) => host.log.warn({ event: 'pep_vcard_avatar_failed', err: error }));
      return false;
    });
    api.hook('subscription-approved', async ({ user, contact }) => {
      await lastItemsToSubscriber(host, caps, contact, user);
      return false;
    });
    // The first presence carries the avatar hash (XEP-0398): read with the bind's claim.
    api.hook('resource-binding', ({ session }) => {
      if (session.bare_jid !== undefined) avatars.start(session, session.bare_jid);
    });
    // Remote contacts' presence (with caps) to an account: they become recipients (remote.ts).
    api.hook('presence/bare', (routed) => onRemotePresence(host, caps, routed), 10);
    api.hook('presence/full', (routed) => onRemotePresence(host, caps, routed), 10);
    // Directed presence of our users to an account of ours: they become recipients (directed.ts).
    api.hook('pre-presence', (outbound) => directed.outbound(outbound), 10);
    api.hook('resource-unbind', ({ session }) => directed.forget(session));
    // Answers to our caps queries come to the domain; they end here.
    api.hook('iq/host', ({ stanza }) => caps.answered(stanza), 10);
    api.hook('pre-presence', async ({ session, stanza, to }) => {
      if (to !== undefined) return false;
      const type = stanzaType(stanza);
      // Unavailable: the next available presence counts as coming online again (last items sent).
      if (type === 'unavailable') seen.delete(session);
      if (type !== undefined) return false;
      await addAvatarHash(host, session.bare_jid as string, stanza, avatars.take(session));
      const announced = caps.capsOf(stanza);
      if (announced) onPresence(host, caps, seen, session, announced);
      return false;
    }, 10);
  },
};
