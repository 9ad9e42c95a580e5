// Per-domain rules of federation (doc/federation.md): which domains are refused, which must use
// TLS, and which must present a certificate that verifies (Prosody's s2s_secure_auth,
// s2s_secure_domains, s2s_insecure_domains).
import type { Config } from '../config.js';
import { parseDomains } from '../config/types.js';

export class S2SPolicy {
  private readonly blocked: Set<string>;
  private readonly allowed: Set<string> | undefined;
  private readonly secure: Set<string>;
  private readonly insecure: Set<string>;

  constructor(private readonly config: Config) {
    this.blocked = new Set(parseDomains(config.s2sBlockedDomains ?? ''));
    this.allowed = config.s2sAllowedDomains === undefined ? undefined : new Set(parseDomains(config.s2sAllowedDomains));
    this.secure = new Set(parseDomains(config.s2sSecureDomains ?? ''));
    this.insecure = new Set(parseDomains(config.s2sInsecureDomains ?? ''));
  }

  /** May we federate with this domain at all? */
  permits(domain: string): boolean {
    if (this.blocked.has(domain)) return false;
    return this.allowed === undefined || this.allowed.has(domain);
  }

  /** A domain whose certificate must verify must use TLS, whatever `s2sRequireEncryption` says. */
  requiresTls(domain: string): boolean {
    if (this.secure.has(domain)) return true;
    return this.config.s2sRequireEncryption && !this.insecure.has(domain);
  }

  /** Must the domain's certificate verify, or is dialback enough? */
  requiresCertificate(domain: string): boolean {
    if (this.secure.has(domain)) return true;
    return this.config.s2sSecureAuth && !this.insecure.has(domain);
  }
}
