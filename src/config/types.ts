// The value types of the settings, as zod schemas. Each one's error message is what the value
// should have been ("expected …"); load.ts adds where it came from and what it was.
import { isIP } from 'node:net';
import { z } from 'zod';
import { networkListProblem } from './networks.js';

/** The pino levels, least to most verbose, and silent. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

function integer(expected: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return z.int({ error: expected }).min(min, { error: expected }).max(max, { error: expected });
}

export const port = integer('a port number (0-65535)', 0, 65535);
export const positiveInteger = integer('a positive integer', 1);
export const nonNegativeInteger = integer('a non-negative integer', 0);
export const unlimitedOrPositive = integer('a non-negative integer (0: unlimited)', 0);
export const boolean = z.boolean({ error: 'a boolean (true or false)' });
export const text = z.string({ error: 'a string' }).min(1, { error: 'a non-empty string' });
export const UPLOAD_STORES = ['auto', 'disk', 's3', 'off'] as const;
export const uploadStore = z.enum(UPLOAD_STORES, { error: `one of ${UPLOAD_STORES.join(', ')}` });
export const logLevel = z.enum(LOG_LEVELS, { error: `one of ${LOG_LEVELS.join(', ')}` });
export const nodeId = z.string({ error: 'a string' }).regex(/^[A-Za-z0-9._-]{1,128}$/, { error: '1-128 characters of A-Z a-z 0-9 . _ -' });

/** A string checked by `problem`, which names what was expected or returns undefined. */
function checked(problem: (value: string) => string | undefined) {
  return z.string({ error: 'a string' }).superRefine((value, ctx) => {
    const expected = problem(value);
    if (expected !== undefined) ctx.addIssue({ code: 'custom', message: expected });
  });
}

const DOMAIN_EXPECTED = 'a domain name of lowercase labels (a-z, 0-9, "-") separated by dots, or an IP address (RFC 7622 domainpart)';

/**
 * RFC 7622 §3.2: the domainpart is a DNS name (an internationalized one in its A-label form here,
 * so that it compares as bytes), an IPv4 address or a bracketed IPv6 address. Lowercase only: JIDs
 * are compared after case mapping, and a configured "Example.com" would never match.
 */
export function domainProblem(value: string): string | undefined {
  if (value.startsWith('[') && value.endsWith(']')) return isIP(value.slice(1, -1)) === 6 ? undefined : 'an IPv6 address inside [ ]';
  if (isIP(value) === 4) return undefined;
  if (value.length === 0 || value.length > 253) return DOMAIN_EXPECTED;
  if (value !== value.toLowerCase() && domainProblem(value.toLowerCase()) === undefined) return `a lowercase domain name ("${value.toLowerCase()}")`;
  const labels = value.split('.');
  const valid = labels.every((label) => /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(label));
  // An all-numeric last label would read as a malformed IPv4 address.
  return valid && !/^\d+$/.test(labels.at(-1) ?? '') ? undefined : DOMAIN_EXPECTED;
}
export const domain = checked(domainProblem);

/** Domains, comma-separated, each a domainpart as `domain` checks it. */
export function domainListProblem(value: string): string | undefined {
  const domains = value.split(',').map((part) => part.trim());
  const wrong = domains.find((part) => domainProblem(part) !== undefined);
  return wrong === undefined ? undefined : `a comma-separated list of domains ("${wrong}" is not ${DOMAIN_EXPECTED})`;
}
export const domainList = checked(domainListProblem);

const HOST_PORT = String.raw`(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(:\d{1,5})?`;
const SINGLE = new RegExp(String.raw`^rediss?://([^@/\s]*@)?${HOST_PORT}(,${HOST_PORT})*(/\d*)?(\?\S*)?$`);
const SENTINEL = new RegExp(String.raw`^redis-sentinel://([^@/\s]*@)?${HOST_PORT}(,${HOST_PORT})*/[^/?#\s]+$`);

/** Checks the shape cluster/redis/connection.ts accepts, without ever echoing the URL (it may hold a password). */
export function redisUrlProblem(value: string): string | undefined {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value)?.[1];
  if (scheme === undefined) return 'a URL: redis://[user:password@]host[:port][/db], rediss://… or redis-sentinel://…';
  if (scheme === 'redis' || scheme === 'rediss') return SINGLE.test(value) ? undefined : `a URL of the form ${scheme}://[user:password@]host[:port][,host:port…][/db]`;
  if (scheme === 'redis-sentinel') return SENTINEL.test(value) ? undefined : 'a URL of the form redis-sentinel://[:password@]host:port[,host:port…]/masterName';
  return `a URL with the scheme redis, rediss or redis-sentinel (not ${scheme})`;
}
export const redisUrl = checked(redisUrlProblem);

export function httpUrlProblem(value: string): string | undefined {
  if (!URL.canParse(value)) return 'an absolute http:// or https:// URL';
  const { protocol } = new URL(value);
  return protocol === 'http:' || protocol === 'https:' ? undefined : 'an absolute http:// or https:// URL';
}
export const httpUrl = checked(httpUrlProblem);

export const networkList = checked(networkListProblem);

/** The SASL mechanisms a node can offer (src/sasl/index.ts holds the same list, which a test keeps equal). */
export const SASL_MECHANISMS = ['SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN'] as const;

export function mechanismListProblem(value: string): string | undefined {
  const names = value.split(',').map((name) => name.trim());
  const known: readonly string[] = SASL_MECHANISMS;
  if (names.length === 0 || names.some((name) => !known.includes(name)) || new Set(names).size !== names.length) {
    return `a comma-separated list of distinct SASL mechanisms among ${SASL_MECHANISMS.join(', ')}`;
  }
  return undefined;
}
export const mechanismList = checked(mechanismListProblem);

/** URIs (RFC 3986, with a scheme: `mailto:`, `xmpp:`, `https:`…), comma-separated (XEP-0157 addresses). */
export function uriListProblem(value: string): string | undefined {
  const uris = parseUris(value);
  if (uris.length === 0) return 'a comma-separated list of URIs (mailto:, xmpp:, https:…)';
  const wrong = uris.find((uri) => !/^[a-z][a-z0-9+.-]*:[^\s,]+$/i.test(uri) || !URL.canParse(uri));
  return wrong === undefined ? undefined : `a comma-separated list of URIs with a scheme, such as mailto:abuse@example.org or xmpp:admin@example.org ("${wrong}" is not one)`;
}
export const uriList = checked(uriListProblem);

/** The URIs of a `uriList` value. */
export function parseUris(value: string): string[] {
  return value.split(',').map((uri) => uri.trim()).filter((uri) => uri !== '');
}

/** Browser origins (RFC 6454 §6.1: scheme://host[:port], no path), comma-separated; `*`: any. */
export function originListProblem(value: string): string | undefined {
  const origins = parseOrigins(value);
  if (origins.length === 0) return 'a comma-separated list of origins (https://host[:port]), or * for any';
  const wrong = origins.find((origin) => origin !== '*' && !/^https?:\/\/(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(:\d{1,5})?$/.test(origin));
  return wrong === undefined ? undefined : `origins of the form https://host[:port], without a path ("${wrong}" is not one)`;
}
export const originList = checked(originListProblem);

/** The origins of a list, as browsers send them (lowercase, no trailing slash). */
export function parseOrigins(value: string): string[] {
  return value.split(',').map((origin) => origin.trim().toLowerCase().replace(/\/$/, '')).filter((origin) => origin !== '');
}

/** Secrets never appear in messages or in the effective configuration printed. */
export const REDACTED = '[redacted]';

/** The URL with the password of its userinfo replaced. */
export function maskUrlPassword(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/]*):[^@/]*@/i, `$1:${REDACTED}@`);
}

// s2s (issue #20): domain lists and static routes.
/** The domains of a `domainList` value. */
export function parseDomains(value: string): string[] {
  return value.split(',').map((item) => item.trim()).filter((item) => item !== '');
}
/** Where a static route points: `tls` for a direct TLS port (XEP-0368), else STARTTLS. */
export interface StaticRoute {
  host: string;
  port: number;
  tls: boolean;
}
/** `domain=host:port` or `domain=tls:host:port` pairs, comma-separated (ROOKERY_S2S_ROUTES). */
export function parseRoutes(value: string): Map<string, StaticRoute> {
  const routes = new Map<string, StaticRoute>();
  for (const pair of value.split(',').map((item) => item.trim()).filter((item) => item !== '')) {
    const match = /^([^=\s]+)=(tls:)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/.exec(pair);
    if (!match) continue;
    routes.set(match[1]!, { host: match[3]!.replace(/^\[|\]$/g, ''), port: Number(match[4]), tls: match[2] !== undefined });
  }
  return routes;
}
export function routesProblem(value: string): string | undefined {
  const pairs = value.split(',').map((item) => item.trim()).filter((item) => item !== '');
  const parsed = parseRoutes(value);
  if (pairs.length === 0 || parsed.size !== pairs.length) return 'domain=host:port (or domain=tls:host:port) pairs, comma-separated, each domain once';
  const wrong = [...parsed.keys()].find((name) => domainProblem(name) !== undefined);
  return wrong === undefined ? undefined : `domain=host:port pairs ("${wrong}" is not ${DOMAIN_EXPECTED})`;
}
export const routes = checked(routesProblem);
// External components (XEP-0114): `domain=secret` pairs.
/** The components of a `components` value: domain → shared secret (a secret holds no comma). */
export function parseComponents(value: string): Map<string, string> {
  const components = new Map<string, string>();
  for (const pair of value.split(',').map((item) => item.trim()).filter((item) => item !== '')) {
    const at = pair.indexOf('=');
    if (at <= 0 || at === pair.length - 1) continue;
    components.set(pair.slice(0, at), pair.slice(at + 1));
  }
  return components;
}
/** Never echoes the value: it holds secrets. */
export function componentsProblem(value: string): string | undefined {
  const pairs = value.split(',').map((item) => item.trim()).filter((item) => item !== '');
  const parsed = parseComponents(value);
  if (pairs.length === 0 || parsed.size !== pairs.length) return 'domain=secret pairs, comma-separated, each domain once';
  const wrong = [...parsed.keys()].find((name) => domainProblem(name) !== undefined);
  return wrong === undefined ? undefined : `domain=secret pairs ("${wrong}" is not ${DOMAIN_EXPECTED})`;
}
export const components = checked(componentsProblem);
