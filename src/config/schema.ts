// Every setting once: its type, default, environment variable, YAML key and meaning. The README's
// Configuration table and the Helm chart's value types are checked against this catalogue.
import { hostname } from 'node:os';
import { z } from 'zod';
import * as t from './types.js';

/** How an environment value (always a string) is read, and the type named in the docs. */
export type SettingType = 'string' | 'integer' | 'boolean';

export interface Setting<S extends z.ZodType = z.ZodType> {
  schema: S;
  type: SettingType;
  default: z.output<S>;
  /** The default as the docs show it, when it is computed on the machine (the host name). */
  defaultText?: string;
  env: string;
  /** Older variable names still read; the main one wins when both are set. */
  aliases?: readonly string[];
  /** One line for the docs. */
  description: string;
  /** Masked wherever the configuration is printed or logged. */
  secret?: boolean;
}

const setting = <S extends z.ZodType>(definition: Setting<S>): Setting<S> => definition;
const optional = <S extends z.ZodType>(schema: S) => schema.optional();

export const SETTINGS = {
  domain: setting({ schema: t.domain, type: 'string', default: 'localhost', env: 'ROOKERY_DOMAIN', description: 'the XMPP domain served (lowercase DNS name or IP address, RFC 7622)' }),
  nodeId: setting({ schema: t.nodeId, type: 'string', default: hostname(), defaultText: 'host name', env: 'ROOKERY_NODE_ID', description: "this node's name in the session registry (1-128 of `A-Z a-z 0-9 . _ -`)" }),
  bindAddress: setting({ schema: t.text, type: 'string', default: '0.0.0.0', env: 'ROOKERY_BIND_ADDRESS', description: 'address the client and HTTP ports listen on (an address of this machine)' }),
  c2sPort: setting({ schema: t.port, type: 'integer', default: 5222, env: 'ROOKERY_C2S_PORT', description: 'client port (STARTTLS); `0`: any free port' }),
  c2sTlsPort: setting({ schema: t.port, type: 'integer', default: 5223, env: 'ROOKERY_C2S_TLS_PORT', description: 'client port with direct TLS (XEP-0368)' }),
  c2sProxyProtocol: setting({ schema: t.boolean, type: 'boolean', default: false, env: 'ROOKERY_C2S_PROXY_PROTOCOL', description: 'the client port (STARTTLS) expects a PROXY protocol header (v1 or v2) from a trusted proxy before each stream, so that limits, logs and metrics see the real client address' }),
  c2sTlsProxyProtocol: setting({ schema: t.boolean, type: 'boolean', default: false, env: 'ROOKERY_C2S_TLS_PROXY_PROTOCOL', description: 'the same for the direct TLS client port (the header comes before the TLS handshake)' }),
  trustedProxies: setting({ schema: optional(t.networkList), type: 'string', default: undefined, env: 'ROOKERY_TRUSTED_PROXIES', description: 'addresses or networks (CIDR), comma-separated, of the proxies in front of the node: the only peers whose PROXY header is accepted, and whose `X-Forwarded-For` names the client of an XMPP WebSocket, and exempt from the per-address connection rate (as loopback is)' }),
  httpPort: setting({ schema: t.port, type: 'integer', default: 5280, env: 'ROOKERY_HTTP_PORT', description: 'health probes, `/metrics` and the admin API' }),
  httpPublicUrl: setting({ schema: optional(t.httpUrl), type: 'string', default: undefined, env: 'ROOKERY_HTTP_PUBLIC_URL', description: 'the `http(s)://` URL clients reach the HTTP port at, when a proxy stands in front; also where a draining node sends its WebSocket clients (RFC 7395 `see-other-uri`)' }),
  webOrigins: setting({ schema: optional(t.originList), type: 'string', default: undefined, env: 'ROOKERY_WEB_ORIGINS', description: 'origins (`https://host[:port]`), comma-separated, of the web pages allowed to open the XMPP WebSocket (`/xmpp-websocket`, RFC 7395), or `*` for any; an upgrade whose `Origin` header is not allowed is refused (403). Unset: the node\'s own origin only (that of `httpPublicUrl`, else the request\'s `Host`), as Prosody\'s `cross_domain_websocket` defaults to. An upgrade without `Origin` (no browser sends none) is allowed' }),
  dataDir: setting({ schema: t.text, type: 'string', default: './data', env: 'ROOKERY_DATA_DIR', description: 'where a node keeps its files: the embedded store when there is no Redis (see [doc/embedded-store.md](doc/embedded-store.md)), and the generated admin token' }),
  redisUrl: setting({ schema: optional(t.redisUrl), type: 'string', default: undefined, env: 'ROOKERY_REDIS_URL', description: '`redis://…`, `rediss://…` or `redis-sentinel://[:password@]host:26379[,host:26379…]/masterName`; unset: the embedded store in `dataDir`', secret: true }),
  redisPrefix: setting({ schema: t.text, type: 'string', default: 'rk', env: 'ROOKERY_REDIS_PREFIX', description: 'prefix of every Redis key' }),
  redisPassword: setting({ schema: optional(t.text), type: 'string', default: undefined, env: 'ROOKERY_REDIS_PASSWORD', description: 'Redis password, when it is not in the URL', secret: true }),
  redisCluster: setting({ schema: t.boolean, type: 'boolean', default: false, env: 'ROOKERY_REDIS_CLUSTER', description: '`true`: the URL names seed nodes of a Redis Cluster (several, `redis://h1:6379,h2:6379`, or a name resolving to every node)' }),
  heartbeatMs: setting({ schema: t.positiveInteger, type: 'integer', default: 2000, env: 'ROOKERY_HEARTBEAT_MS', description: 'how often a node writes its heartbeat to Redis' }),
  nodeDeadAfterMs: setting({ schema: t.positiveInteger, type: 'integer', default: 10_000, env: 'ROOKERY_NODE_DEAD_AFTER_MS', description: 'a node silent this long is declared dead and cleaned up after (at least twice the heartbeat)' }),
  sweepEveryMs: setting({ schema: t.positiveInteger, type: 'integer', default: 2000, env: 'ROOKERY_SWEEP_EVERY_MS', description: 'how often the dead-node sweep (a BullMQ job) runs' }),
  drainTimeoutSeconds: setting({ schema: t.positiveInteger, type: 'integer', default: 25, env: 'ROOKERY_DRAIN_TIMEOUT_SECONDS', description: 'on SIGTERM, the longest a node takes to hand its clients over' }),
  smHibernationSeconds: setting({ schema: t.positiveInteger, type: 'integer', default: 300, env: 'ROOKERY_SM_HIBERNATION_SECONDS', description: 'how long a stream-managed session whose connection is gone waits for its client (XEP-0198 `max`)' }),
  shutdownPresenceGraceSeconds: setting({ schema: t.nonNegativeInteger, type: 'integer', default: 30, env: 'ROOKERY_SHUTDOWN_PRESENCE_GRACE_SECONDS', description: 'after a drain, how long contacts are not told that a client without stream management left; `0`: at once' }),
  tlsCert: setting({ schema: optional(t.text), type: 'string', default: undefined, env: 'ROOKERY_TLS_CERT', description: 'PEM certificate chain file; with `tlsKey`. Unset: a self-signed certificate is generated at start, with a warning' }),
  tlsKey: setting({ schema: optional(t.text), type: 'string', default: undefined, env: 'ROOKERY_TLS_KEY', description: 'PEM private key file of that certificate' }),
  saslMechanisms: setting({ schema: t.mechanismList, type: 'string', default: t.SASL_MECHANISMS.join(','), env: 'ROOKERY_SASL_MECHANISMS', description: 'the SASL mechanisms offered, in order of preference. After importing accounts with SCRAM-SHA-1 keys only (ejabberd, Prosody), leave out SCRAM-SHA-256 until they have logged in once with PLAIN: clients such as Conversations pick the first SCRAM offered and do not fall back' }),
  channelBinding: setting({ schema: t.boolean, type: 'boolean', default: true, env: 'ROOKERY_CHANNEL_BINDING', description: 'offer SCRAM-*-PLUS and the channel-bound FAST mechanisms over TLS (tls-exporter on TLS 1.3, tls-unique on 1.2, tls-server-end-point), advertised with XEP-0440. `false` behind a proxy that terminates TLS' }),
  scramIterations: setting({ schema: t.positiveInteger, type: 'integer', default: 10_000, env: 'ROOKERY_SCRAM_ITERATIONS', description: 'PBKDF2 iterations of new SCRAM keys (RFC 7677 asks at least 4096). Keys with fewer are re-derived at the next PLAIN login and at a password change' }),
  sasl2: setting({ schema: t.boolean, type: 'boolean', default: true, env: 'ROOKERY_SASL2', description: 'offer SASL2 (XEP-0388) with Bind2 (XEP-0386) and inline stream resumption beside legacy SASL' }),
  fastTokenTtlSeconds: setting({ schema: t.positiveInteger, type: 'integer', default: 1_814_400, env: 'ROOKERY_FAST_TOKEN_TTL_SECONDS', description: 'how long an XEP-0484 FAST token stays valid (default 21 days, as Prosody); a token past half its life is replaced at its next use' }),
  fastTokensPerAccount: setting({ schema: t.positiveInteger, type: 'integer', default: 16, env: 'ROOKERY_FAST_TOKENS_PER_ACCOUNT', description: 'devices (user-agent ids) per account that may hold a FAST token; a new one evicts the token that expires first' }),
  allowPlaintextAuth: setting({ schema: t.boolean, type: 'boolean', default: false, env: 'ROOKERY_ALLOW_PLAINTEXT_AUTH', description: '`true` allows SASL without TLS (local tests and benchmarks only)' }),
  allowRegistration: setting({ schema: t.boolean, type: 'boolean', default: false, env: 'ROOKERY_ALLOW_REGISTRATION', description: 'XEP-0077 in-band registration' }),
  adminToken: setting({ schema: optional(t.text), type: 'string', default: undefined, env: 'ROOKERY_ADMIN_TOKEN', description: 'bearer token of the admin API, required on every request; unset: the node uses `$ROOKERY_DATA_DIR/admin-token`, creating it (mode 0600) at its first start, and the CLI reads it there', secret: true }),
  mucDomains: setting({ schema: optional(t.domainList), type: 'string', default: undefined, defaultText: 'conference.<domain>', env: 'ROOKERY_MUC_DOMAINS', description: 'domains of the group chat service (XEP-0045), comma-separated; each is listed in the server\'s disco#items' }),
  uploadStore: setting({ schema: t.uploadStore, type: 'string', default: 'auto', env: 'ROOKERY_UPLOAD_STORE', description: 'where HTTP upload (XEP-0363) keeps files: `disk` (`uploadDirectory`), `s3` (`uploadS3Bucket`), `off`, or `auto`: `s3` when a bucket is set, else `disk` on the embedded store or when `uploadDirectory` is set, else off (a cluster needs a directory every node shares, or S3)' }),
  uploadDirectory: setting({ schema: optional(t.text), type: 'string', default: undefined, env: 'ROOKERY_UPLOAD_DIRECTORY', description: 'the directory of uploaded files; unset: `uploads` in `dataDir`. Nodes of a cluster must all see the same directory (a shared volume)' }),
  uploadExpiryDays: setting({ schema: t.nonNegativeInteger, type: 'integer', default: 7, env: 'ROOKERY_UPLOAD_EXPIRY_DAYS', description: 'uploaded files are deleted this many days after the upload (Prosody\'s `http_file_share_expires_after` is a week too); `0`: never' }),
  uploadS3Bucket: setting({ schema: optional(t.text), type: 'string', default: undefined, env: 'ROOKERY_UPLOAD_S3_BUCKET', description: 'S3 bucket of uploaded files; clients upload to it directly with a presigned URL. Credentials come from the AWS SDK\'s usual sources (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, an instance or pod role)' }),
  uploadS3Endpoint: setting({ schema: optional(t.httpUrl), type: 'string', default: undefined, env: 'ROOKERY_UPLOAD_S3_ENDPOINT', description: 'the S3 endpoint of an S3-compatible service (MinIO, Ceph, Garage); unset: AWS' }),
  uploadS3Region: setting({ schema: t.text, type: 'string', default: 'us-east-1', env: 'ROOKERY_UPLOAD_S3_REGION', description: 'the bucket\'s region' }),
  uploadS3PathStyle: setting({ schema: t.boolean, type: 'boolean', default: false, env: 'ROOKERY_UPLOAD_S3_PATH_STYLE', description: '`true`: `endpoint/bucket/key` URLs instead of `bucket.endpoint/key` (most S3-compatible services want this)' }),
  turnHost: setting({ schema: optional(t.text), type: 'string', default: undefined, env: 'ROOKERY_TURN_HOST', description: 'host name of the STUN/TURN server (e.g. coturn) that clients are told about for audio and video calls (XEP-0215); unset: none' }),
  turnPort: setting({ schema: t.port, type: 'integer', default: 3478, env: 'ROOKERY_TURN_PORT', description: 'its STUN and TURN port (UDP and TCP)' }),
  turnTlsPort: setting({ schema: optional(t.port), type: 'integer', default: undefined, env: 'ROOKERY_TURN_TLS_PORT', description: 'its TURN-over-TLS (`turns`) port, if it has one' }),
  turnSecret: setting({ schema: optional(t.text), type: 'string', default: undefined, env: 'ROOKERY_TURN_SECRET', description: 'the secret shared with the TURN server (coturn: `use-auth-secret` and `static-auth-secret`): clients get time-limited TURN credentials derived from it (TURN REST API); unset: only STUN is announced', secret: true }),
  turnCredentialSeconds: setting({ schema: t.positiveInteger, type: 'integer', default: 86_400, env: 'ROOKERY_TURN_CREDENTIAL_SECONDS', description: 'how long TURN credentials stay valid' }),
  // XEP-0157 contact addresses
  contactAbuse: setting({ schema: optional(t.uriList), type: 'string', default: undefined, env: 'ROOKERY_CONTACT_ABUSE', description: 'URIs (`mailto:`, `xmpp:`, `https:`…), comma-separated, where to report abuse (spam, harassment); listed in the server\'s disco#info as XEP-0157 `abuse-addresses`, as are the five settings below. Unset: not listed' }),
  contactAdmin: setting({ schema: optional(t.uriList), type: 'string', default: undefined, env: 'ROOKERY_CONTACT_ADMIN', description: 'the same for the administrators (`admin-addresses`)' }),
  contactFeedback: setting({ schema: optional(t.uriList), type: 'string', default: undefined, env: 'ROOKERY_CONTACT_FEEDBACK', description: 'the same for feedback (`feedback-addresses`)' }),
  contactSales: setting({ schema: optional(t.uriList), type: 'string', default: undefined, env: 'ROOKERY_CONTACT_SALES', description: 'the same for commercial matters (`sales-addresses`)' }),
  contactSecurity: setting({ schema: optional(t.uriList), type: 'string', default: undefined, env: 'ROOKERY_CONTACT_SECURITY', description: 'the same for security reports (`security-addresses`)' }),
  contactSupport: setting({ schema: optional(t.uriList), type: 'string', default: undefined, env: 'ROOKERY_CONTACT_SUPPORT', description: 'the same for users\' questions (`support-addresses`)' }),
  // s2s (issue #20, doc/federation.md)
  s2sPort: setting({ schema: t.port, type: 'integer', default: 5269, env: 'ROOKERY_S2S_PORT', description: 'server-to-server port (RFC 6120, STARTTLS); `0`: no federation (every other domain is `remote-server-not-found`)' }),
  s2sTlsPort: setting({ schema: optional(t.port), type: 'integer', default: undefined, env: 'ROOKERY_S2S_TLS_PORT', description: 'server-to-server port with direct TLS (XEP-0368, ALPN `xmpp-server`; announce it as `_xmpps-server._tcp`); unset: none, as Prosody\'s `s2s_direct_tls_ports` (needs `s2sPort` on)' }),
  s2sRoutes: setting({ schema: optional(t.routes), type: 'string', default: undefined, env: 'ROOKERY_S2S_ROUTES', description: '`domain=host:port` pairs, comma-separated: where these remote domains are reached, before DNS SRV (`_xmpps-server._tcp`, `_xmpp-server._tcp`) and the domain on 5269; `domain=tls:host:port` for a direct TLS port (XEP-0368)' }),
  s2sRequireEncryption: setting({ schema: t.boolean, type: 'boolean', default: true, env: 'ROOKERY_S2S_REQUIRE_ENCRYPTION', description: 'server-to-server streams must use TLS (STARTTLS or direct TLS), both ways, except with `s2sInsecureDomains`; `false`: TLS is still offered and used when the peer offers it, and required of `s2sSecureDomains`' }),
  s2sSecureAuth: setting({ schema: t.boolean, type: 'boolean', default: false, env: 'ROOKERY_S2S_SECURE_AUTH', description: 'as Prosody\'s `s2s_secure_auth`: a remote server must present a certificate that verifies (RFC 6125); `false`: dialback (XEP-0220) is accepted when it does not' }),
  s2sSecureDomains: setting({ schema: optional(t.domainList), type: 'string', default: undefined, env: 'ROOKERY_S2S_SECURE_DOMAINS', description: 'domains, comma-separated, whose certificate must verify even when `s2sSecureAuth` is off (so they must use TLS even when `s2sRequireEncryption` is off)' }),
  s2sInsecureDomains: setting({ schema: optional(t.domainList), type: 'string', default: undefined, env: 'ROOKERY_S2S_INSECURE_DOMAINS', description: 'domains, comma-separated, authenticated by dialback even when `s2sSecureAuth` is on, and allowed without TLS (not in `s2sSecureDomains` too)' }),
  s2sBlockedDomains: setting({ schema: optional(t.domainList), type: 'string', default: undefined, env: 'ROOKERY_S2S_BLOCKED_DOMAINS', description: 'remote domains, comma-separated, refused both ways (stanzas to them bounce with `policy-violation`)' }),
  s2sAllowedDomains: setting({ schema: optional(t.domainList), type: 'string', default: undefined, env: 'ROOKERY_S2S_ALLOWED_DOMAINS', description: 'when set, the only remote domains federated with, comma-separated (none also in `s2sBlockedDomains`)' }),
  s2sCaFile: setting({ schema: optional(t.text), type: 'string', default: undefined, env: 'ROOKERY_S2S_CA_FILE', description: 'PEM file of the certificate authorities remote servers\' certificates are verified against; unset: the system trust store' }),
  s2sSecret: setting({ schema: optional(t.text), type: 'string', default: undefined, env: 'ROOKERY_S2S_SECRET', description: 'the secret dialback keys are derived from (XEP-0185), the same on every node; unset: one generated and kept by the store (Redis, or `dataDir`)', secret: true }),
  // External components (XEP-0114, src/component/)
  componentPort: setting({ schema: optional(t.port), type: 'integer', default: undefined, env: 'ROOKERY_COMPONENT_PORT', description: 'port external components (XEP-0114) connect to, on every node (Prosody\'s is 5347); unset: none; `0`: any free port. A component may connect to any node: every node routes to it' }),
  components: setting({ schema: optional(t.components), type: 'string', default: undefined, env: 'ROOKERY_COMPONENTS', description: '`domain=secret` pairs, comma-separated: the external components allowed to connect, each with the secret of its handshake (a secret holds no comma); each domain is listed in the server\'s disco#items', secret: true }),
  logLevel: setting({ schema: t.logLevel, type: 'string', default: 'info', env: 'ROOKERY_LOG_LEVEL', description: `pino log level (${t.LOG_LEVELS.join(', ')}); logs are JSON lines on stdout` }),
};

/** The environment variable of a limit: ROOKERY_LIMIT_ and its name in upper snake case. */
export function limitEnvName(key: string): string {
  return `ROOKERY_LIMIT_${key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}`;
}

/** A limit: a positive integer, or with `zeroIsUnlimited` 0 turns it off. */
function limit(key: string, defaultValue: number, description: string, options: { zeroIsUnlimited?: boolean; aliases?: readonly string[] } = {}) {
  return setting({
    schema: options.zeroIsUnlimited ? t.unlimitedOrPositive : t.positiveInteger,
    type: 'integer',
    default: defaultValue,
    env: limitEnvName(key),
    description: options.zeroIsUnlimited ? `${description}; \`0\`: unlimited` : description,
    ...(options.aliases ? { aliases: options.aliases } : {}),
  });
}

export const LIMIT_SETTINGS = {
  maxStanzaBytes: limit('maxStanzaBytes', 256 * 1024, 'largest stanza accepted after authentication, in bytes (RFC 6120 §13.12)', { aliases: ['ROOKERY_MAX_STANZA_BYTES'] }),
  maxStanzaBytesUnauthenticated: limit('maxStanzaBytesUnauthenticated', 10_000, 'the same before authentication'),
  maxDepth: limit('maxDepth', 64, 'element nesting depth inside one stanza'),
  offlineMessages: limit('offlineMessages', 1000, 'offline messages stored per account before new ones bounce (XEP-0160)', { aliases: ['ROOKERY_OFFLINE_LIMIT'] }),
  maxOutboundBytes: limit('maxOutboundBytes', 4 * 1024 * 1024, 'bytes queued for one slow client before it is disconnected'),
  authTimeoutSeconds: limit('authTimeoutSeconds', 60, 'seconds an unauthenticated connection may stay open'),
  authFailuresBeforeDelay: limit('authFailuresBeforeDelay', 3, 'failed authentications per address or account before replies are slowed down'),
  smMaxQueue: limit('smMaxQueue', 1000, 'unacknowledged stanzas kept for one client before it is disconnected (XEP-0198)'),
  csiMaxHeld: limit('csiMaxHeld', 256, 'stanzas that can wait (presence updates, chat states) held back from one client that said it is inactive (XEP-0352); past it, all are written. They count as unacknowledged for XEP-0198 as well (`smMaxQueue`)'),
  busPendingEnvelopes: limit('busPendingEnvelopes', 10_000, 'stanzas for other nodes held while Redis is unreachable; past it they bounce'),
  busPendingBytes: limit('busPendingBytes', 16 * 1024 * 1024, 'bytes of those stanzas held at most'),
  busPendingSeconds: limit('busPendingSeconds', 30, 'seconds one of them waits for Redis before it bounces'),
  // Prosody's default configuration allows c2s 10 kB/s; the burst lets a stanza of the largest
  // allowed size (and a whole login) through without a pause.
  c2sBytesPerSecond: limit('c2sBytesPerSecond', 10_000, 'bytes a second one authenticated client may send (past it, reading pauses)', { zeroIsUnlimited: true }),
  c2sBurstBytes: limit('c2sBurstBytes', 256 * 1024, 'bytes one authenticated client may send at once'),
  c2sUnauthedBytesPerSecond: limit('c2sUnauthedBytesPerSecond', 2_000, 'bytes a second a client may send before authentication', { zeroIsUnlimited: true }),
  c2sUnauthedBurstBytes: limit('c2sUnauthedBurstBytes', 16_000, 'bytes a client may send at once before authentication'),
  c2sStanzasPerSecond: limit('c2sStanzasPerSecond', 50, 'top-level elements (stanzas and nonzas) a second one client may send', { zeroIsUnlimited: true }),
  c2sStanzaBurst: limit('c2sStanzaBurst', 200, 'top-level elements one client may send at once'),
  addressConnectionsPerMinute: limit('addressConnectionsPerMinute', 6000, 'new connections a minute from one address (IPv6: one /64); past it, refused. Loopback and `trustedProxies` are exempt; behind a proxy, turn on the PROXY protocol so that each client is counted by its own address', { zeroIsUnlimited: true }),
  addressConnectionBurst: limit('addressConnectionBurst', 2000, 'new connections one address may open at once (a NAT reconnecting its users after a restart)'),
  maxConnections: limit('maxConnections', 50_000, 'client connections one node holds at most; past it, refused', { zeroIsUnlimited: true }),
  rosterItems: limit('rosterItems', 5000, 'contacts one account may have on its roster (RFC 6121 §2.5.3); past it, a roster set or subscription request that would add one is refused with `not-allowed`'),
  blocklistItems: limit('blocklistItems', 5000, 'JIDs one account may block (XEP-0191); past it, a block is refused with `resource-constraint`'),
  personalItemBytes: limit('personalItemBytes', 256 * 1024, 'largest vCard (XEP-0054) or private XML element (XEP-0049) one account may store, in bytes of XML; past it, a set is refused with `not-acceptable`'),
  personalItems: limit('personalItems', 100, 'vCard plus private XML elements one account may store; past it, storing a new one is refused with `resource-constraint`'),
  archiveMessages: limit('archiveMessages', 100_000, 'messages kept in one message archive (XEP-0313, an account\'s or a room\'s); past it, the oldest are removed as new ones arrive'),
  archiveDays: limit('archiveDays', 365, 'days a message is kept in a message archive; older ones are removed as new ones arrive'),
  mucOccupants: limit('mucOccupants', 2000, 'occupants one group chat room may hold; an owner may set a lower maximum, past which a join is refused with `service-unavailable`'),
  mucHistoryMessages: limit('mucHistoryMessages', 100, 'messages of discussion history one room keeps at most (its owner may choose fewer)'),
  pepNodes: limit('pepNodes', 200, 'PEP nodes one account may hold (XEP-0163; an OMEMO client holds one bundle node per device); past it, a publish or create that would add one is refused with `not-allowed` and `<max-nodes-exceeded/>`'),
  pepItemsPerNode: limit('pepItemsPerNode', 256, 'items one PEP node keeps at most (`pubsub#max_items` means it for `max`, and more is refused with `not-acceptable` and `<max-items-exceeded/>`)'),
  pepItemBytes: limit('pepItemBytes', 256 * 1024, 'largest PEP item, in bytes of its XML (an OMEMO bundle is a few kilobytes, an avatar a few tens); past it, a publish is refused with `not-acceptable` and `<payload-too-big/>`'),
  pepTotalBytes: limit('pepTotalBytes', 4 * 1024 * 1024, 'bytes of all PEP items of one account; past it, a publish is refused with `resource-constraint`'),
  pepSubscriptionsPerNode: limit('pepSubscriptionsPerNode', 1000, 'explicit subscriptions (XEP-0060 §6.1) one PEP node keeps, besides the contacts notified by their caps; past it, a subscribe is refused with `policy-violation` and `<too-many-subscriptions/>`'),
  resourcesPerAccount: limit('resourcesPerAccount', 100, 'resources one account may have bound at once, across the cluster; past it, a bind is refused with `resource-constraint` (RFC 6120 §7.6.2.1)'),
  httpMaxConnections: limit('httpMaxConnections', 1024, 'connections the HTTP port (probes, metrics, admin API) holds at most besides XMPP WebSockets (which count against `maxConnections`, with the client ports\' connections); past it, new ones are closed'),
  uploadMaxFileBytes: limit('uploadMaxFileBytes', 100 * 1024 * 1024, 'largest file one HTTP upload (XEP-0363) may be; a larger slot request is refused with `not-acceptable` and `<file-too-large/>`'),
  uploadDailyQuotaBytes: limit('uploadDailyQuotaBytes', 1024 * 1024 * 1024, 'bytes one account may upload per day (UTC); past it, a slot request is refused with `resource-constraint`', { zeroIsUnlimited: true }),
  s2sQueueStanzas: limit('s2sQueueStanzas', 1000, 'stanzas one node queues for a remote domain while its stream is being set up; past it, they bounce with `resource-constraint`'),
  s2sConnectTimeoutSeconds: limit('s2sConnectTimeoutSeconds', 20, 'seconds an outgoing server-to-server stream has to become ready; past it, its queued stanzas bounce with `remote-server-timeout`'),
  // Prosody's default configuration limits incoming s2s streams to 30 kB/s.
  s2sBytesPerSecond: limit('s2sBytesPerSecond', 30_000, 'bytes a second one incoming server-to-server stream may send (past it, reading pauses; a remote server sends all its users\' traffic down one stream)', { zeroIsUnlimited: true }),
  s2sBurstBytes: limit('s2sBurstBytes', 256 * 1024, 'bytes one incoming server-to-server stream may send at once'),
  s2sIdleSeconds: limit('s2sIdleSeconds', 300, 'seconds a server-to-server stream may carry nothing before it is closed'),
  pushRegistrations: limit('pushRegistrations', 5, 'push registrations (XEP-0357: app server and node) one account may hold; enabling one more drops the oldest (as Prosody\'s `push_max_devices`)'),
  pushReplySeconds: limit('pushReplySeconds', 30, 'seconds an app server has to answer a push notification (XEP-0357); past it, or after a temporary error, the notification is sent again after 1, 2, 4 and 8 seconds, five tries in all'),
  smAckDelaySeconds: limit('smAckDelaySeconds', 30, 'seconds a stream-managed client (XEP-0198) has to acknowledge what was written to it; past it, the messages it has not acknowledged are pushed (XEP-0357), as for a client that is gone: an inactive phone whose connection died unnoticed (as Prosody\'s `smacks_max_ack_delay`)'),
  httpRequestTimeoutMs: limit('httpRequestTimeoutMs', 5000, 'milliseconds an HTTP client has to send its headers, and its whole request; past it, 408 and closed (slow senders)'),
};

type Shape<T extends Record<string, Setting>> = { [K in keyof T]: T[K]['schema'] };

function shapeOf<T extends Record<string, Setting>>(settings: T): Shape<T> {
  return Object.fromEntries(Object.entries(settings).map(([key, entry]) => [key, entry.schema])) as Shape<T>;
}

export const limitsSchema = z.strictObject(shapeOf(LIMIT_SETTINGS), { error: 'a mapping of limits' });

export const configSchema = z.strictObject({ ...shapeOf(SETTINGS), limits: limitsSchema }).superRefine((config, ctx) => {
  if ((config.tlsCert === undefined) !== (config.tlsKey === undefined)) {
    const missing = config.tlsCert === undefined ? 'tlsCert (ROOKERY_TLS_CERT)' : 'tlsKey (ROOKERY_TLS_KEY)';
    ctx.addIssue({ code: 'custom', path: ['tlsCert'], message: `${missing} is not set: tlsCert and tlsKey go together`, params: { sentence: true } });
  }
  if ((config.c2sProxyProtocol || config.c2sTlsProxyProtocol) && config.trustedProxies === undefined) {
    ctx.addIssue({ code: 'custom', path: ['trustedProxies'], message: 'trustedProxies (ROOKERY_TRUSTED_PROXIES) is not set: the PROXY protocol needs the addresses of the proxies that may send it', params: { sentence: true } });
  }
  if (config.components !== undefined) {
    const mucDomains = mucDomainsOf(config);
    const taken = [...t.parseComponents(config.components).keys()].find((name) => name === config.domain || mucDomains.includes(name));
    if (taken !== undefined) ctx.addIssue({ code: 'custom', path: ['components'], message: `${taken} is served by this server itself (domain or mucDomains), not by a component`, params: { sentence: true } });
  }
  s2sProblems(config, (path, message) => ctx.addIssue({ code: 'custom', path: [path], message, params: { sentence: true } }));
  if (config.nodeDeadAfterMs < 2 * config.heartbeatMs) {
    ctx.addIssue({ code: 'custom', path: ['nodeDeadAfterMs'], message: `at least twice heartbeatMs (${2 * config.heartbeatMs})` });
  }
});

/** Federation settings that contradict each other (doc/federation.md): each is refused with a sentence. */
function s2sProblems(config: Pick<Config, 's2sPort' | 's2sTlsPort' | 's2sSecureDomains' | 's2sInsecureDomains' | 's2sBlockedDomains' | 's2sAllowedDomains'>, problem: (path: string, message: string) => void): void {
  if (config.s2sTlsPort !== undefined && config.s2sPort === 0) problem('s2sTlsPort', 's2sTlsPort (ROOKERY_S2S_TLS_PORT) is set but s2sPort (ROOKERY_S2S_PORT) is 0: federation is off');
  if (config.s2sTlsPort !== undefined && config.s2sTlsPort !== 0 && config.s2sTlsPort === config.s2sPort) problem('s2sTlsPort', `s2sTlsPort and s2sPort are both ${config.s2sPort}: direct TLS needs a port of its own`);
  const both = (a: string | undefined, b: string | undefined): string | undefined => {
    const first = new Set(t.parseDomains(a ?? ''));
    return t.parseDomains(b ?? '').find((domain) => first.has(domain));
  };
  const secureAndInsecure = both(config.s2sSecureDomains, config.s2sInsecureDomains);
  if (secureAndInsecure !== undefined) problem('s2sInsecureDomains', `${secureAndInsecure} is in both s2sSecureDomains and s2sInsecureDomains: its certificate cannot be both required and not`);
  const blockedAndAllowed = both(config.s2sBlockedDomains, config.s2sAllowedDomains);
  if (blockedAndAllowed !== undefined) problem('s2sAllowedDomains', `${blockedAndAllowed} is in both s2sBlockedDomains and s2sAllowedDomains`);
}

export type Config = z.output<typeof configSchema>;
export type Limits = Config['limits'];

function defaultsOf<T extends Record<string, Setting>>(settings: T): { [K in keyof T]: z.output<T[K]['schema']> } {
  return Object.fromEntries(Object.entries(settings).map(([key, entry]) => [key, entry.default])) as { [K in keyof T]: z.output<T[K]['schema']> };
}

export const DEFAULT_LIMITS: Limits = defaultsOf(LIMIT_SETTINGS);

/** The group chat service's domains: `mucDomains`, or conference.<domain>. */
export function mucDomainsOf(config: Pick<Config, 'domain' | 'mucDomains'>): string[] {
  return config.mucDomains !== undefined ? t.parseDomains(config.mucDomains) : [`conference.${config.domain}`];
}

export function defaultConfig(): Config {
  return { ...defaultsOf(SETTINGS), limits: { ...DEFAULT_LIMITS } };
}

/** Every setting with its dotted path (`limits.maxDepth`), in catalogue order. */
export function allSettings(): Array<{ path: string; setting: Setting }> {
  return [
    ...Object.entries(SETTINGS).map(([key, entry]) => ({ path: key, setting: entry as Setting })),
    ...Object.entries(LIMIT_SETTINGS).map(([key, entry]) => ({ path: `limits.${key}`, setting: entry as Setting })),
  ];
}
