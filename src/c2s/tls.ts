// TLS for STARTTLS (RFC 6120 §5) and direct TLS (XEP-0368): TLS 1.2 or newer only.
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { Config } from '../config.js';
import { RookeryError } from '../errors.js';
import type { Logger } from '../log.js';

export interface TlsMaterial {
  key: string;
  cert: string;
  context: SecureContext;
}

/** The configured certificate, or a self-signed one for the domain (with a warning). */
export async function loadTls(config: Config, log: Logger): Promise<TlsMaterial> {
  let key: string;
  let cert: string;
  if (config.tlsCert && config.tlsKey) {
    try {
      cert = readFileSync(config.tlsCert, 'utf8');
      key = readFileSync(config.tlsKey, 'utf8');
    } catch (error) {
      throw new RookeryError('ROOKERY_TLS_UNREADABLE', `cannot read the TLS certificate or key: ${(error as Error).message}`);
    }
  } else {
    log.warn({ event: 'tls_self_signed', domain: config.domain });
    // Loaded only here: selfsigned (and its ASN.1 stack) costs a node with a certificate ~0.15 s at start.
    const { generate } = await import('selfsigned');
    const generated = await generate([{ name: 'commonName', value: config.domain }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: config.domain }] }],
    });
    key = generated.private;
    cert = generated.cert;
  }
  let context: SecureContext;
  try {
    context = createSecureContext({ key, cert, minVersion: 'TLSv1.2' });
  } catch (error) {
    // OpenSSL's reason ("key values mismatch", "bad end line") without its error-stack prefix.
    const reason = (error as Error).message.replace(/^error:[0-9A-F]+:[^:]*::?/, '');
    throw new RookeryError('ROOKERY_TLS_INVALID', `the TLS certificate or key cannot be used: ${reason}`);
  }
  return { key, cert, context };
}
