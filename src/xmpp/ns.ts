// XML namespaces used on the wire (RFC 6120, RFC 6121 and the XEPs Rookery implements).
export const NS_CLIENT = 'jabber:client';
export const NS_STREAMS = 'http://etherx.jabber.org/streams';
export const NS_XMPP_STREAMS = 'urn:ietf:params:xml:ns:xmpp-streams';
export const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';
export const NS_TLS = 'urn:ietf:params:xml:ns:xmpp-tls';
export const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';
export const NS_BIND = 'urn:ietf:params:xml:ns:xmpp-bind';
export const NS_SESSION = 'urn:ietf:params:xml:ns:xmpp-session';
export const NS_ROSTER = 'jabber:iq:roster';
export const NS_ROSTERVER_FEATURE = 'urn:xmpp:features:rosterver';
export const NS_PREAPPROVAL_FEATURE = 'urn:xmpp:features:pre-approval';
export const NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info';
export const NS_DISCO_ITEMS = 'http://jabber.org/protocol/disco#items';
export const NS_VERSION = 'jabber:iq:version';
export const NS_PING = 'urn:xmpp:ping';
export const NS_CARBONS = 'urn:xmpp:carbons:2';
export const NS_FORWARD = 'urn:xmpp:forward:0';
export const NS_HINTS = 'urn:xmpp:hints';
export const NS_BLOCKING = 'urn:xmpp:blocking';
export const NS_BLOCKING_ERRORS = 'urn:xmpp:blocking:errors';
export const NS_CAPS = 'http://jabber.org/protocol/caps';
export const NS_REGISTER = 'jabber:iq:register';
export const NS_REGISTER_FEATURE = 'http://jabber.org/features/iq-register';
export const NS_DELAY = 'urn:xmpp:delay';
export const NS_OFFLINE = 'msgoffline';
export const NS_SM = 'urn:xmpp:sm:3';
/** XEP-0352 Client State Indication. */
export const NS_CSI = 'urn:xmpp:csi:0';
/** XEP-0215 External Service Discovery. */
export const NS_EXTDISCO = 'urn:xmpp:extdisco:2';
export const NS_MUC_USER = 'http://jabber.org/protocol/muc#user';
export const NS_FRAMING = 'urn:ietf:params:xml:ns:xmpp-framing';
export const NS_SASL2 = 'urn:xmpp:sasl:2';
export const NS_BIND2 = 'urn:xmpp:bind:0';
export const NS_FAST = 'urn:xmpp:fast:0';
export const NS_SASL_CB = 'urn:xmpp:sasl-cb:0';
export const NS_SCRAM_UPGRADE = 'urn:xmpp:scram-upgrade:0';
export const NS_SSDP = 'urn:xmpp:ssdp:0';
export const NS_SERVER = 'jabber:server';
export const NS_DIALBACK = 'jabber:server:dialback';
export const NS_DIALBACK_FEATURE = 'urn:xmpp:features:dialback';
/** XEP-0114 Jabber Component Protocol. */
export const NS_COMPONENT = 'jabber:component:accept';
/** XEP-0357 Push Notifications. */
export const NS_PUSH = 'urn:xmpp:push:0';
export const NS_PUSH_SUMMARY = 'urn:xmpp:push:summary';
