// The deployment record: which domain a key prefix serves and the format its data is in. The
// first node (or an account command given an explicit domain) writes it; everyone after checks
// it, so a CLI without ROOKERY_DOMAIN cannot create bob@localhost in a cluster serving
// example.com, and a mistyped prefix is named instead of showing an empty user list.
import type { RedisClient } from './connection.js';
import { RedisStateError } from './errors.js';
import type { KeyBuilder } from './keys.js';

/** Raised when the layout of stored data changes incompatibly; a newer record is refused. */
export const DATA_FORMAT = 1;

export interface Deployment {
  format: number;
  domains: string[];
}

export interface DeploymentExpectation {
  /** The domain the caller serves; undefined when it was not configured explicitly (the CLI adopts the record's). */
  domain: string | undefined;
  /** Whether a missing record may be written (nodes, and the CLI when given a domain). */
  record: boolean;
}

/** Reads (and on first use writes) the record; throws RedisStateError on a mismatch. Returns the record. */
export async function checkDeployment(client: RedisClient, keys: KeyBuilder, expected: DeploymentExpectation): Promise<Deployment> {
  const key = keys.deployment();
  let stored = await client.get(key);
  if (stored === null) {
    if (!expected.record || expected.domain === undefined) {
      throw new RedisStateError(
        'ROOKERY_REDIS_NO_DEPLOYMENT',
        `no Rookery deployment under the Redis key prefix "${keys.prefix}": set ROOKERY_REDIS_PREFIX to the prefix your nodes use, or set ROOKERY_DOMAIN to start a new deployment`,
      );
    }
    const fresh: Deployment = { format: DATA_FORMAT, domains: [expected.domain] };
    // NX: of two nodes starting at once, one writes and both then check the same record.
    await client.set(key, JSON.stringify(fresh), 'NX');
    stored = await client.get(key);
    if (stored === null) throw new RedisStateError('ROOKERY_REDIS_CORRUPT', `the deployment record ${key} vanished as it was written`);
  }
  const deployment = parseDeployment(key, stored);
  if (deployment.format > DATA_FORMAT) {
    throw new RedisStateError(
      'ROOKERY_REDIS_DEPLOYMENT_MISMATCH',
      `the data under the Redis key prefix "${keys.prefix}" is in format ${deployment.format}, written by a newer Rookery (this one reads format ${DATA_FORMAT}): upgrade this node`,
    );
  }
  if (expected.domain !== undefined && !deployment.domains.includes(expected.domain)) {
    throw new RedisStateError(
      'ROOKERY_REDIS_DEPLOYMENT_MISMATCH',
      `the Redis key prefix "${keys.prefix}" serves ${deployment.domains.join(', ')}, not ${expected.domain}: set ROOKERY_DOMAIN=${deployment.domains[0] ?? ''} or use another ROOKERY_REDIS_PREFIX`,
    );
  }
  return deployment;
}

function parseDeployment(key: string, stored: string): Deployment {
  let value: unknown;
  try {
    value = JSON.parse(stored);
  } catch {
    value = undefined;
  }
  const candidate = value as Partial<Deployment> | undefined;
  if (
    typeof candidate !== 'object' || candidate === null ||
    !Number.isInteger(candidate.format) ||
    !Array.isArray(candidate.domains) || candidate.domains.length === 0 ||
    !candidate.domains.every((domain) => typeof domain === 'string')
  ) {
    throw new RedisStateError('ROOKERY_REDIS_CORRUPT', `the deployment record ${key} cannot be read: ${stored.slice(0, 80)}`);
  }
  return { format: candidate.format as number, domains: candidate.domains };
}
