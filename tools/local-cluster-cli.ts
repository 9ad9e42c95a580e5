// `npm run cluster`: the command line of the local cluster (local-cluster.ts), its flags and usage.
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { defaultOptions, type LocalClusterOptions, startLocalCluster } from './local-cluster.js';

const USAGE = `usage: npm run cluster -- [options]

Starts redis-server, N Rookery nodes and HAProxy on 127.0.0.1; Ctrl-C stops everything.
HAProxy sends the PROXY protocol (v2) to the nodes' client ports.

options:
  --nodes <n>           nodes to start (default 3)
  --port <port>         client port, STARTTLS (default 5222)
  --tls-port <port>     client port, direct TLS (default: --port + 1)
  --stats-port <port>   HAProxy's stats page, HTTP /stats (default 8404)
  --node-base-port <p>  first of the nodes' own ports; node i takes p+3i (c2s), p+3i+1 (direct TLS),
                        p+3i+2 (HTTP: probes, /metrics, admin API) (default 15300)
  --redis-port <port>   redis-server (default 6390)
  --domain <domain>     XMPP domain (default localhost)
  -h, --help            print this help
Any port given as 0 is replaced by a free one.`;

/** A port flag's value: an integer from 0 to 65535. */
function portFlag(name: string, value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535) throw new UsageError(`--${name}: expected a port (0-65535), got "${value}"`);
  return port;
}

class UsageError extends Error {}

/** The command line as options; throws UsageError on a flag it does not know or a bad value. */
export function parseClusterArgs(args: string[]): LocalClusterOptions & { help: boolean } {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        nodes: { type: 'string', default: '3' },
        port: { type: 'string', default: '5222' },
        'tls-port': { type: 'string' },
        'stats-port': { type: 'string', default: '8404' },
        'node-base-port': { type: 'string', default: '15300' },
        'redis-port': { type: 'string', default: '6390' },
        domain: { type: 'string', default: 'localhost' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values } = parsed;
  const nodes = Number(values.nodes);
  if (!Number.isInteger(nodes) || nodes < 1) throw new UsageError(`--nodes: expected a positive integer, got "${values.nodes}"`);
  const tlsPort = values['tls-port'] === undefined ? undefined : portFlag('tls-port', values['tls-port']);
  return {
    ...defaultOptions(),
    help: values.help === true,
    nodes,
    port: portFlag('port', String(values.port)),
    ...(tlsPort === undefined ? {} : { tlsPort }),
    statsPort: portFlag('stats-port', String(values['stats-port'])),
    nodeBasePort: portFlag('node-base-port', String(values['node-base-port'])),
    redisPort: portFlag('redis-port', String(values['redis-port'])),
    domain: String(values.domain),
  };
}

async function main(): Promise<void> {
  let options: ReturnType<typeof parseClusterArgs>;
  try {
    options = parseClusterArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`local-cluster: ${error.message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (options.help) {
    console.log(USAGE);
    return;
  }
  const { help: _help, ...clusterOptions } = options;
  const cluster = await startLocalCluster(clusterOptions);
  console.log(`accounts: ROOKERY_REDIS_URL=${cluster.redisUrl} npx rookery user add alice@${cluster.domain} PASSWORD`);
  const stop = (): void => void cluster.stop().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
