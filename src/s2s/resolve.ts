// Where a remote domain's server is (RFC 6120 §3.2.2; XEP-0368): a static route, else DNS SRV
// records (`_xmpps-server._tcp` for direct TLS, `_xmpp-server._tcp` for STARTTLS) by priority,
// else the domain itself on 5269.
import { isIP } from 'node:net';
import { Resolver } from 'node:dns/promises';

export interface Target {
  host: string;
  port: number;
  /** XEP-0368: TLS from the first byte, no STARTTLS. */
  directTls: boolean;
}

export type Routes = ReadonlyMap<string, { host: string; port: number }>;

const DNS_TIMEOUT_MS = 5000;

export async function resolveTargets(domain: string, routes: Routes): Promise<Target[]> {
  const route = routes.get(domain);
  if (route) return [{ host: route.host, port: route.port, directTls: false }];
  const bare = domain.replace(/^\[|\]$/g, '');
  if (isIP(bare)) return [{ host: bare, port: 5269, directTls: false }];
  const resolver = new Resolver({ timeout: DNS_TIMEOUT_MS, tries: 2 });
  const lookup = async (service: string, directTls: boolean) => {
    try {
      const records = await resolver.resolveSrv(`${service}.${domain}`);
      // RFC 2782: a single "." target means the service is not offered.
      return records.filter((record) => record.name !== '' && record.name !== '.').map((record) => ({ ...record, directTls }));
    } catch {
      return [];
    }
  };
  const records = [...(await lookup('_xmpps-server._tcp', true)), ...(await lookup('_xmpp-server._tcp', false))];
  if (records.length === 0) return [{ host: domain, port: 5269, directTls: false }];
  records.sort((a, b) => a.priority - b.priority || b.weight - a.weight);
  return records.map((record) => ({ host: record.name, port: record.port, directTls: record.directTls }));
}
