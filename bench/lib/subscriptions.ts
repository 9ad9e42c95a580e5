// The hub's side of the presence and PEP workloads' set-up: it approves every subscription
// request and notes each contact whose available presence reaches it.
import type { XmppClient } from './client.js';
import { attr } from './framer.js';

export function hubPresenceHandler(hub: XmppClient, hubSees: Set<string>, changed: () => void): (xml: string) => void {
  return (xml) => {
    if (!xml.startsWith('<presence')) return;
    const from = attr(xml, 'from') ?? '';
    const bare = from.includes('/') ? from.slice(0, from.indexOf('/')) : from;
    const type = attr(xml, 'type');
    if (type === 'subscribe') hub.send(`<presence to='${bare}' type='subscribed'/>`);
    else if (type === undefined && bare !== hub.bare) {
      hubSees.add(bare);
      changed();
    }
  };
}
