// The Lua scripts of scripts/*.lua: loading, registration on the client, and the meaning of
// their replies. Every multi-key or read-modify-write change of the backend is one script.
import { readFile } from 'node:fs/promises';
import type { RedisClient } from './connection.js';
import { RedisStateError } from './errors.js';

/** Script names are verb + key count; the number after the last '-' is the KEYS count. */
export const SCRIPT_NAMES = [
  'account-create-1',
  'account-set-1',
  'account-cas-1',
  'roster-cas-3',
  'blocklist-edit-2',
  'offline-store-2',
  'personal-set-1',
  'archive-append-7',
  'archive-query-2',
  'pep-publish-6',
  'pep-configure-4',
  'pep-retract-3',
  'pep-purge-6',
  'pep-subscribe-3',
  'pep-unsubscribe-2',
  'pep-suboptions-2',
  'pep-create-1',
  'pep-items-3',
  'fast-issue-1',
  'fast-use-1',
  'session-claim-1',
  'session-update-1',
  'session-release-1',
  'session-reassert-1',
  'sm-append-3',
  'sm-ack-2',
  'sm-takeover-3',
  'sm-detach-1',
  'room-read-2',
  'room-commit-4',
  'room-message-4',
  'room-list-2',
  'room-page-2',
  'bus-send-2',
  'bus-ack-1',
  'bus-take-2',
  'component-claim-1',
  'component-release-1',
  'push-enable-1',
  'push-claim-2',
  'remote-resource-set-1',
] as const;

export type ScriptName = (typeof SCRIPT_NAMES)[number];

/** A script's reply: `rejected` is its -1 (a precondition did not hold; the store maps it to false/undefined). */
export type ScriptOutcome = { rejected: true } | { rejected: false; value: unknown };

export interface Scripts {
  run(name: ScriptName, keys: readonly string[], args: readonly (string | number)[]): Promise<ScriptOutcome>;
}

/** Reads every script and registers it on the client with defineCommand (EVALSHA, falling back to EVAL). */
export async function loadScripts(client: RedisClient): Promise<Scripts> {
  const commands = new Map<ScriptName, string>();
  for (const name of SCRIPT_NAMES) {
    const lua = await readFile(new URL(`./scripts/${name}.lua`, import.meta.url), 'utf8');
    const command = commandName(name);
    client.defineCommand(command, { lua, numberOfKeys: keyCount(name) });
    commands.set(name, command);
  }
  return {
    async run(name, keys, args) {
      if (keys.length !== keyCount(name)) {
        throw new RedisStateError('ROOKERY_REDIS_SCRIPT', `Script ${name} takes ${keyCount(name)} keys, got ${keys.length}`);
      }
      const method: unknown = Reflect.get(client, commands.get(name) ?? '');
      if (typeof method !== 'function') throw new RedisStateError('ROOKERY_REDIS_SCRIPT', `Script ${name} is not registered`);
      const reply: unknown = await Reflect.apply(method, client, [...keys, ...args.map(String)]);
      return interpretReply(name, reply);
    },
  };
}

/**
 * The one place where the negative integer replies of the scripts get their meaning:
 *   -1  rejected: the precondition did not hold (exists / missing / mismatch / stale session / full)
 *   -2  a stored value cannot be decoded          → RedisStateError ROOKERY_REDIS_CORRUPT
 *   -3  an argument cannot be decoded             → RedisStateError ROOKERY_REDIS_SCRIPT
 *   any other negative integer                    → RedisStateError ROOKERY_REDIS_SCRIPT
 */
export function interpretReply(name: ScriptName, reply: unknown): ScriptOutcome {
  if (typeof reply !== 'number' || reply >= 0) return { rejected: false, value: reply };
  switch (reply) {
    case -1:
      return { rejected: true };
    case -2:
      throw new RedisStateError('ROOKERY_REDIS_CORRUPT', `Script ${name} found a stored value it cannot decode`);
    case -3:
      throw new RedisStateError('ROOKERY_REDIS_SCRIPT', `Script ${name} was given an argument it cannot decode`);
    default:
      throw new RedisStateError('ROOKERY_REDIS_SCRIPT', `Script ${name} answered the unknown code ${reply}`);
  }
}

/** The value of a script that answers an integer. */
export function integerReply(name: ScriptName, outcome: ScriptOutcome & { rejected: false }): number {
  if (typeof outcome.value !== 'number' || !Number.isSafeInteger(outcome.value)) {
    throw new RedisStateError('ROOKERY_REDIS_SCRIPT', `Script ${name} answered ${typeof outcome.value}, not an integer`);
  }
  return outcome.value;
}

/** The value of a script that answers a string or nil. */
export function stringReply(name: ScriptName, outcome: ScriptOutcome & { rejected: false }): string | undefined {
  if (outcome.value === null || outcome.value === undefined) return undefined;
  if (typeof outcome.value !== 'string') {
    throw new RedisStateError('ROOKERY_REDIS_SCRIPT', `Script ${name} answered ${typeof outcome.value}, not a string`);
  }
  return outcome.value;
}

function keyCount(name: ScriptName): number {
  return Number(name.slice(name.lastIndexOf('-') + 1));
}

/** ioredis method name: 'roster-cas-3' → 'rookeryRosterCas3'. */
function commandName(name: ScriptName): string {
  return `rookery${name.split('-').map((part) => part.charAt(0).toUpperCase() + part.slice(1)).join('')}`;
}
