// The HAProxy configuration of the local cluster (tools/local-cluster.ts): TCP balancing of the
// client ports, health checks on each node's /readyz, a stats page, PROXY protocol v2 to the nodes.

/** How HAProxy checks the nodes' /readyz: every `intervalMs`, down after `fall` failures, up after `rise` successes. */
export interface HealthCheck {
  intervalMs: number;
  fall: number;
  rise: number;
}

/** A node HAProxy balances over: its client ports and the HTTP port of its health check. */
export interface BalancedNode {
  id: string;
  c2sPort: number;
  c2sTlsPort: number;
  httpPort: number;
}

export function haproxyConfigText(where: { port: number; tlsPort: number; statsPort: number; check: HealthCheck }, nodes: BalancedNode[]): string {
  const { check } = where;
  const servers = (port: (node: BalancedNode) => number): string =>
    nodes.map((node) => `    server ${node.id} 127.0.0.1:${port(node)} send-proxy-v2 check port ${node.httpPort}`).join('\n');
  // A node that stopped listening (draining) refuses connections before its health check fails:
  // such a connection is tried again on another node (redispatch on every retry). A refused or
  // failed connection also marks the node down at once (observe layer4), rather than after `fall`
  // failed checks: after a kill -9, leastconn would otherwise send most reconnecting clients to the
  // dead node first, since it holds the fewest connections. The health check brings it back up.
  // The health check goes to the HTTP port without a PROXY header (HAProxy adds one only with
  // check-send-proxy).
  return `global
    maxconn 9000
defaults
    mode tcp
    timeout connect 2s
    timeout client 1h
    timeout server 1h
    timeout check 2s
    retries 3
    option redispatch 1
    option httpchk GET /readyz
    default-server inter ${check.intervalMs}ms fastinter ${check.intervalMs}ms downinter ${check.intervalMs}ms fall ${check.fall} rise ${check.rise} observe layer4 error-limit 1 on-error mark-down
listen stats
    bind 127.0.0.1:${where.statsPort}
    mode http
    stats enable
    stats uri /stats
frontend c2s
    bind 127.0.0.1:${where.port}
    default_backend c2s_nodes
backend c2s_nodes
    balance leastconn
${servers((node) => node.c2sPort)}
frontend c2s_tls
    bind 127.0.0.1:${where.tlsPort}
    default_backend c2s_tls_nodes
backend c2s_tls_nodes
    balance leastconn
${servers((node) => node.c2sTlsPort)}
`;
}
