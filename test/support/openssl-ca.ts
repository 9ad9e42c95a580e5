// A certificate authority made with the openssl command, for certificates whose subjectAltName
// holds what the `selfsigned` package cannot write: XMPP's otherName entries, id-on-xmppAddr
// (1.3.6.1.5.5.7.8.5, UTF8String) and SRVName (1.3.6.1.5.5.7.8.7, IA5String), per RFC 6120
// §13.7.1.2 and RFC 4985. Certificates it issues verify wherever its certificate is trusted.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface OpensslCa {
  /** PEM file of the authority's certificate. */
  caFile: string;
  /**
   * A key and certificate with subject CN `cn` and the subjectAltName entries given in openssl's
   * syntax (`DNS:a.example`, `IP:127.0.0.1`, `URI:…`, or the helpers below); none: no extension.
   */
  issue(name: string, cn: string, altNames: string[]): { key: string; cert: string; keyPem: string; certPem: string };
}

/** An id-on-xmppAddr entry (RFC 6120 §13.7.1.4). */
export const xmppAddr = (jid: string): string => `otherName:1.3.6.1.5.5.7.8.5;UTF8:${jid}`;
/** An SRV-ID entry (RFC 4985), `_service.domain`. */
export const srvName = (service: string, domain: string): string => `otherName:1.3.6.1.5.5.7.8.7;IA5:_${service}.${domain}`;

export function opensslAvailable(): boolean {
  return spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

export function createOpensslCa(dir: string, label = 'Rookery openssl test CA'): OpensslCa {
  const base = join(dir, label.replace(/\W+/g, '-'));
  const caKey = `${base}.key`;
  const caFile = `${base}.crt`;
  const run = (args: string[]): void => {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  };
  run(['req', '-x509', ...EC, '-keyout', caKey, '-out', caFile, '-days', '2', '-subj', `/CN=${label}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  return {
    caFile,
    issue(name, cn, altNames) {
      const file = join(dir, name);
      const extensions = [
        'basicConstraints=CA:FALSE',
        'keyUsage=digitalSignature,keyEncipherment',
        'extendedKeyUsage=serverAuth,clientAuth',
        ...(altNames.length > 0 ? [`subjectAltName=${altNames.join(',')}`] : []),
      ];
      writeFileSync(`${file}.ext`, `${extensions.join('\n')}\n`);
      run(['req', '-new', ...EC, '-keyout', `${file}.key`, '-out', `${file}.csr`, '-subj', `/CN=${cn}`]);
      run(['x509', '-req', '-in', `${file}.csr`, '-CA', caFile, '-CAkey', caKey, '-set_serial', `0x${randomBytes(8).toString('hex')}`, '-days', '2', '-extfile', `${file}.ext`, '-out', `${file}.crt`]);
      return { key: `${file}.key`, cert: `${file}.crt`, keyPem: readFileSync(`${file}.key`, 'utf8'), certPem: readFileSync(`${file}.crt`, 'utf8') };
    },
  };
}
