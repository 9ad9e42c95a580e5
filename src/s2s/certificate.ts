// Certificate checks of federation (RFC 6125; XEP-0178 §3). A TrustStore holds the authorities
// (`s2sCaFile` and the system's roots, parsed once) and judges a chain by itself: Node sets
// `authorized` only on sockets of a tls.Server, not on a socket upgraded by STARTTLS as a server.
// Our own certificate is judged the same way: only when it would pass a peer's check do our
// outgoing streams try SASL EXTERNAL (the peer judges by its own store: ours is the best guess).
import { rootCertificates, type TLSSocket } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { certificateNames } from './names.js';

const MAX_CHAIN = 8;

/** Splits a PEM bundle into certificates (whatever does not parse is left out). */
export function pemCertificates(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.flatMap((block) => {
    try {
      return [new X509Certificate(block)];
    } catch {
      return [];
    }
  });
}

export class TrustStore {
  private readonly anchors: X509Certificate[];

  /** `caPem`: the configured authorities; the system's roots are trusted besides. */
  constructor(caPem: string | undefined) {
    this.anchors = [...(caPem ? pemCertificates(caPem) : []), ...rootCertificates.flatMap(pemCertificates)];
  }

  /** The first certificate chains, through the others, to an anchor; every link within its validity period. */
  trusts(chain: X509Certificate[], now = new Date()): boolean {
    const [leaf, ...intermediates] = chain;
    const current = (cert: X509Certificate) => new Date(cert.validFrom) <= now && now <= new Date(cert.validTo);
    const issuerOf = (cert: X509Certificate, candidates: X509Certificate[]) => candidates.find((candidate) => cert.checkIssued(candidate) && cert.verify(candidate.publicKey));
    let cert = leaf;
    for (let depth = 0; cert && depth < MAX_CHAIN; depth++) {
      if (!current(cert)) return false;
      const anchor = issuerOf(cert, this.anchors);
      if (anchor) return current(anchor);
      cert = issuerOf(cert, intermediates);
    }
    return false;
  }

  /** The chain a TLS peer presented verifies (the leaf's names are checked apart). */
  trustsPeer(socket: TLSSocket): boolean {
    // Not getPeerX509Certificate(): Node 20 gives it once only, and link.ts reads it again.
    const peer = socket.getPeerCertificate(true);
    if (!peer?.raw) return false;
    const leaf = new X509Certificate(peer.raw);
    const intermediates: X509Certificate[] = [];
    const seen = new Set<unknown>();
    for (let cert = peer.issuerCertificate; cert && !seen.has(cert) && intermediates.length < MAX_CHAIN; cert = cert.issuerCertificate) {
      seen.add(cert);
      intermediates.push(new X509Certificate(cert.raw));
    }
    return this.trusts([leaf, ...intermediates]);
  }
}

/** The first certificate of `chainPem` names `domain` (names.ts) and chains to `trust`. */
export function certificateValidFor(chainPem: string, domain: string, trust: TrustStore): boolean {
  const chain = pemCertificates(chainPem);
  const leaf = chain[0];
  if (!leaf) return false;
  return certificateNames(leaf, domain) && trust.trusts(chain);
}
