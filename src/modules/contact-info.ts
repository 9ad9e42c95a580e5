// XEP-0157 Contact Addresses for XMPP Services: where to report abuse, reach the administrators,
// ask for help…, as an XEP-0128 form (FORM_TYPE http://jabber.org/network/serverinfo) in the
// server's disco#info. As Prosody's mod_server_contact_info: only the kinds configured are
// listed, each a list-multi of URIs. Nothing is stored: every node reads the same configuration.
import { Element } from 'ltx';
import type { Module } from '../core/module.js';

export const NS_SERVERINFO = 'http://jabber.org/network/serverinfo';

/** The kinds of XEP-0157 §3 (the registry's fields are `<kind>-addresses`). */
export const CONTACT_KINDS = ['abuse', 'admin', 'feedback', 'sales', 'security', 'support'] as const;
export type ContactKind = (typeof CONTACT_KINDS)[number];
export type ContactAddresses = Partial<Record<ContactKind, string[]>>;

export function contactForm(addresses: ContactAddresses): Element {
  const form = new Element('x', { xmlns: 'jabber:x:data', type: 'result' });
  form.c('field', { var: 'FORM_TYPE', type: 'hidden' }).c('value').t(NS_SERVERINFO);
  for (const kind of CONTACT_KINDS) {
    const uris = addresses[kind] ?? [];
    if (uris.length === 0) continue;
    const field = form.c('field', { var: `${kind}-addresses`, type: 'list-multi' });
    for (const uri of uris) field.c('value').t(uri);
  }
  return form;
}

export function contactInfoModule(addresses: ContactAddresses): Module {
  const form = contactForm(addresses);
  return {
    name: 'contact-info',
    load(api) {
      api.infoForm(NS_SERVERINFO, form);
    },
  };
}
