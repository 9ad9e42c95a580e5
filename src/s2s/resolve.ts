// Where a remote domain's server is (RFC 6120 §3.2.2; XEP-0368): a static route, else DNS SRV
// records (`_xmpps-server._tcp` for direct TLS, `_xmpp-server._tcp` for STARTTLS) by priority,
// else the domain itself on 5269.
import { isIP } from 'node:net';
import { Resolver } from 'node:dns/promises';
import type { StaticRoute } from '../config/types.js';

export interface Target {
  host: string;
  port: number;
  /** XEP-0368: TLS from the first byte, no STARTTLS. */
  directTls: boolean;
}

export type Routes = ReadonlyMap<string, StaticRoute>;

const DNS_TIMEOUT_MS = 5000;

/** `dnsServers`: ask these (`host:port`) instead of the system's resolvers. */
export async function resolveTargets(domain: string, routes: Routes, dnsServers?: string[]): Promise<Target[]> {
  const route = routes.get(domain);
  if (route) return [{ host: route.host, port: route.port, directTls: route.tls }];
  const bare = domain.replace(/^\[|\]$/g, '');
  if (isIP(bare)) return [{ host: bare, port: 5269, directTls: false }];
  const resolver = new Resolver({ timeout: DNS_TIMEOUT_MS, tries: 2 });
  if (dnsServers) resolver.setServers(dnsServers);
  const lookup = async (service: string, directTls: boolean) => {
    try {
      const records = await resolver.resolveSrv(`${service}.${domain}`);
      // RFC 2782: a single "." target means the service is not offered.
      return records.filter((record) => record.name !== '' && record.name !== '.').map((record) => ({ ...record, directTls }));
    } catch {
      return [];
    }
  };
  const [direct, starttls] = await Promise.all([lookup('_xmpps-server._tcp', true), lookup('_xmpp-server._tcp', false)]);
  const records = [...direct, ...starttls];
  if (records.length === 0) return [{ host: domain, port: 5269, directTls: false }];
  // XEP-0368 §3: both lists merged, by priority then weight (heavier first, RFC 2782 without the
  // random pick); on a tie direct TLS first (the sort is stable).
  records.sort((a, b) => a.priority - b.priority || b.weight - a.weight);
  return records.map((record) => ({ host: record.name, port: record.port, directTls: record.directTls }));
}
