// A certificate authority made for one test run (XEP-0178 tests): server certificates it issues
// verify wherever its certificate is trusted (Rookery's `s2sCaFile`, Prosody's `cafile`,
// ejabberd's `s2s_cafile`), and nowhere else.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from 'selfsigned';

export interface TestCa {
  /** PEM file of the authority's certificate. */
  caFile: string;
  /** A key and certificate for a server domain (a DNS name, or an IP literal: then both an IP and a DNS name entry, as Prosody and ejabberd match names only). */
  issue(domain: string): Promise<{ key: string; cert: string; keyPem: string; certPem: string }>;
}

export async function createTestCa(dir: string, name = 'Rookery test CA'): Promise<TestCa> {
  const ca = await generate([{ name: 'commonName', value: name }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ],
  });
  const caFile = join(dir, `${name.replace(/\W+/g, '-')}.crt`);
  writeFileSync(caFile, ca.cert);
  return {
    caFile,
    async issue(domain) {
      const ip = /^[\d.]+$/.test(domain);
      const issued = await generate([{ name: 'commonName', value: domain }], {
        keyType: 'ec',
        curve: 'P-256',
        algorithm: 'sha256',
        ca: { key: ca.private, cert: ca.cert },
        extensions: [
          { name: 'basicConstraints', cA: false },
          { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
          { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
          { name: 'subjectAltName', altNames: ip ? [{ type: 7, ip: domain }, { type: 2, value: domain }] : [{ type: 2, value: domain }] },
        ],
      });
      const key = join(dir, `${domain}.key`);
      const cert = join(dir, `${domain}.crt`);
      writeFileSync(key, issued.private, { mode: 0o600 });
      writeFileSync(cert, issued.cert);
      return { key, cert, keyPem: issued.private, certPem: issued.cert };
    },
  };
}
