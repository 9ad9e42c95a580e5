// Channel bindings of a client's TLS connection (RFC 5929 tls-unique and tls-server-end-point,
// RFC 9266 tls-exporter), for SCRAM-*-PLUS and the HT-* FAST mechanisms, and the XEP-0440
// <sasl-channel-binding/> feature that names them.
import { createHash } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { Element } from 'ltx';
import type { ChannelBindingType } from '../sasl/index.js';
import { NS_SASL_CB } from '../xmpp/ns.js';

/** DER of the signature algorithm OIDs whose hash tls-server-end-point uses (RFC 5929 §4.1); anything else is SHA-256. */
const STRONGER_HASHES: readonly [string, string][] = [
  ['sha384', '06082a8648ce3d040303'], // ecdsa-with-SHA384
  ['sha512', '06082a8648ce3d040304'], // ecdsa-with-SHA512
  ['sha384', '06092a864886f70d01010c'], // sha384WithRSAEncryption
  ['sha512', '06092a864886f70d01010d'], // sha512WithRSAEncryption
];

/** The types this connection can bind to, best first: tls-exporter needs TLS 1.3, tls-unique is undefined there (RFC 9266 §3). */
export function bindingTypes(socket: TLSSocket | undefined): ChannelBindingType[] {
  if (!socket) return [];
  return socket.getProtocol() === 'TLSv1.3' ? ['tls-exporter', 'tls-server-end-point'] : ['tls-unique', 'tls-server-end-point'];
}

/** The channel's binding data of this type, or undefined when it has none. */
export function bindingData(socket: TLSSocket | undefined, type: ChannelBindingType): Buffer | undefined {
  if (!socket || !bindingTypes(socket).includes(type)) return undefined;
  switch (type) {
    case 'tls-exporter':
      return socket.exportKeyingMaterial(32, 'EXPORTER-Channel-Binding', Buffer.alloc(0));
    case 'tls-unique':
      // The first Finished message of the handshake: the client's, in a full handshake (RFC 5929 §3.1).
      return socket.getPeerFinished() ?? undefined;
    case 'tls-server-end-point': {
      const certificate = socket.getCertificate();
      const raw = certificate && 'raw' in certificate ? certificate.raw : undefined;
      if (!raw) return undefined;
      const der = raw.toString('hex');
      const algorithm = STRONGER_HASHES.find(([, oid]) => der.includes(oid))?.[0] ?? 'sha256';
      return createHash(algorithm).update(raw).digest();
    }
  }
}

/** XEP-0440: the binding types offered on this connection. */
export function bindingFeature(types: readonly ChannelBindingType[]): Element | undefined {
  if (types.length === 0) return undefined;
  const feature = new Element('sasl-channel-binding', { xmlns: NS_SASL_CB });
  for (const type of types) feature.c('channel-binding', { type });
  return feature;
}
