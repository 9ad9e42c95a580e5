// Which domains a server certificate names (RFC 6120 §13.7.1.2, RFC 6125 §6.4, XEP-0178 §3):
// DNS-IDs (dNSName, a leftmost `*` label matching one label), SRV-IDs (the otherName SRVName
// `_xmpp-server.<domain>`, RFC 4985), XmppAddr (the otherName id-on-xmppAddr holding the bare
// domain, no wildcard), IP addresses for an IP-literal domain, and the subject's CN only when the
// certificate has no identifier of those kinds. Node reads DNS and IP entries only, and prints
// other names as text it may give up on (`<unsupported>`): the subjectAltName extension is read
// here from the certificate's DER.
import { isIP } from 'node:net';
import type { X509Certificate } from 'node:crypto';

/** The subjectAltName entries that identify a server. */
export interface AltNames {
  dns: string[];
  /** SRVName values, `_service.domain`. */
  srv: string[];
  xmppAddr: string[];
  /** URI entries (URI-IDs): none is ours to match, but their presence rules the CN out. */
  uris: number;
}

const OID_SUBJECT_ALT_NAME = Buffer.from([0x55, 0x1d, 0x11]); // 2.5.29.17
const OID_XMPP_ADDR = Buffer.from([0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x08, 0x05]); // 1.3.6.1.5.5.7.8.5
const OID_SRV_NAME = Buffer.from([0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x08, 0x07]); // 1.3.6.1.5.5.7.8.7

const TAG = { oid: 0x06, octetString: 0x04, utf8String: 0x0c, ia5String: 0x16, extensions: 0xa3, otherName: 0xa0, explicit0: 0xa0, dnsName: 0x82, uri: 0x86 } as const;

interface Tlv {
  tag: number;
  /** Where the value starts and ends in the buffer. */
  start: number;
  end: number;
}

/** One DER element at `offset` (low tag numbers, definite lengths: all a certificate uses). */
function readTlv(der: Buffer, offset: number, limit: number): Tlv {
  if (offset + 2 > limit) throw new RangeError('truncated DER');
  const tag = der[offset] as number;
  const first = der[offset + 1] as number;
  let start = offset + 2;
  let length = first;
  if (first & 0x80) {
    const bytes = first & 0x7f;
    if (bytes === 0 || bytes > 4 || start + bytes > limit) throw new RangeError('bad DER length');
    length = 0;
    for (let index = 0; index < bytes; index++) length = length * 256 + (der[start + index] as number);
    start += bytes;
  }
  if (start + length > limit) throw new RangeError('truncated DER');
  return { tag, start, end: start + length };
}

function childrenOf(der: Buffer, parent: Tlv): Tlv[] {
  const children: Tlv[] = [];
  for (let offset = parent.start; offset < parent.end; ) {
    const child = readTlv(der, offset, parent.end);
    children.push(child);
    offset = child.end;
  }
  return children;
}

const valueOf = (der: Buffer, tlv: Tlv): Buffer => der.subarray(tlv.start, tlv.end);

/** The subjectAltName entries of a certificate; empty lists when it has none or its DER is odd. */
export function altNames(cert: X509Certificate): AltNames {
  const names: AltNames = { dns: [], srv: [], xmppAddr: [], uris: 0 };
  const der = cert.raw;
  try {
    const [tbs] = childrenOf(der, readTlv(der, 0, der.length));
    const extensions = tbs ? childrenOf(der, tbs).find((field) => field.tag === TAG.extensions) : undefined;
    const list = extensions ? childrenOf(der, extensions)[0] : undefined;
    for (const extension of list ? childrenOf(der, list) : []) {
      const fields = childrenOf(der, extension);
      const oid = fields[0];
      const value = fields.at(-1);
      if (!oid || !value || oid.tag !== TAG.oid || value.tag !== TAG.octetString || !valueOf(der, oid).equals(OID_SUBJECT_ALT_NAME)) continue;
      const generalNames = readTlv(der, value.start, value.end);
      for (const name of childrenOf(der, generalNames)) readGeneralName(der, name, names);
    }
  } catch {
    // A certificate Node parsed but we cannot: it names nothing beyond what Node reads (DNS, IP).
    return { dns: [], srv: [], xmppAddr: [], uris: 0 };
  }
  return names;
}

function readGeneralName(der: Buffer, name: Tlv, names: AltNames): void {
  if (name.tag === TAG.dnsName) names.dns.push(valueOf(der, name).toString('latin1'));
  else if (name.tag === TAG.uri) names.uris += 1;
  else if (name.tag === TAG.otherName) {
    // OtherName ::= SEQUENCE { type-id OID, value [0] EXPLICIT ANY } (tagged implicitly as [0]).
    const [typeId, wrapper] = childrenOf(der, name);
    if (!typeId || !wrapper || typeId.tag !== TAG.oid || wrapper.tag !== TAG.explicit0) return;
    const inner = childrenOf(der, wrapper)[0];
    if (!inner) return;
    const type = valueOf(der, typeId);
    if (type.equals(OID_XMPP_ADDR) && inner.tag === TAG.utf8String) names.xmppAddr.push(valueOf(der, inner).toString('utf8'));
    else if (type.equals(OID_SRV_NAME) && inner.tag === TAG.ia5String) names.srv.push(valueOf(der, inner).toString('latin1'));
  }
}

/** RFC 6125 §6.4.1, §6.4.3: case-insensitive; `*` only as the whole leftmost label, for one label, not over a public suffix-like single label. */
export function dnsNameMatches(presented: string, domain: string): boolean {
  const name = presented.toLowerCase().replace(/\.$/, '');
  const wanted = domain.toLowerCase();
  if (!name.startsWith('*.')) return name === wanted;
  const rest = name.slice(2);
  if (!rest.includes('.') || rest.includes('*')) return false;
  const dot = wanted.indexOf('.');
  return dot > 0 && wanted.slice(dot + 1) === rest;
}

/** Whether the certificate names `domain` for a server-to-server stream. */
export function certificateNames(cert: X509Certificate, domain: string): boolean {
  const bare = domain.replace(/^\[|\]$/g, '');
  if (isIP(bare)) return cert.checkIP(bare) !== undefined;
  const names = altNames(cert);
  if (names.dns.some((name) => dnsNameMatches(name, bare))) return true;
  // RFC 6125 §6.4.1: the service label must be the one asked for, here _xmpp-server (RFC 6120 §13.7.1.2.1).
  if (names.srv.some((name) => name.toLowerCase().startsWith('_xmpp-server.') && dnsNameMatches(name.slice('_xmpp-server.'.length), bare))) return true;
  if (names.xmppAddr.some((addr) => addr.toLowerCase() === bare.toLowerCase())) return true;
  // RFC 6125 §6.4.4: the CN only when there is no subjectAltName identifier at all.
  if (names.dns.length + names.srv.length + names.xmppAddr.length + names.uris > 0) return false;
  return cert.checkHost(bare, { subject: 'always' }) !== undefined;
}
