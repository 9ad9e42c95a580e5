// Change notices over Redis pub/sub (sharded pub/sub on Redis Cluster, so notices do not
// flood the cluster bus). At-most-once: after the subscriber reconnects, listeners are reset.
import { Cluster } from 'ioredis';
import type { ChangeFeed, ChangeKind, ChangeListener } from '../../src/state/changes.js';
import type { Telemetry } from '../../src/telemetry.js';
import { duplicateClient, type RedisClient } from './connection.js';
import type { KeyBuilder } from './keys.js';

const NOTICE_VERSION = 1;
// A node of an earlier release ignores a code it does not know.
const KIND_CODES: Record<ChangeKind, string> = { sessions: 's', blocklist: 'b', roster: 'r' };
const CODE_KINDS = new Map(Object.entries(KIND_CODES).map(([kind, code]) => [code, kind as ChangeKind]));

export class RedisChangeFeed implements ChangeFeed {
  private readonly listeners: ChangeListener[] = [];
  private subscriber: RedisClient | undefined;
  private readonly sharded: boolean;
  private readonly channel: string;

  constructor(
    private readonly client: RedisClient,
    keys: KeyBuilder,
    private readonly telemetry?: Telemetry,
  ) {
    this.sharded = client instanceof Cluster;
    this.channel = keys.changesChannel();
  }

  async start(): Promise<void> {
    // ioredis routes SSUBSCRIBE to the shard owning the channel only with shardedSubscribers;
    // without it the command goes to an arbitrary node and fails with endless MOVED redirections.
    const subscriber = this.client instanceof Cluster ? this.client.duplicate([], { shardedSubscribers: true }) : duplicateClient(this.client);
    subscriber.on('error', () => {}); // reported by the main client; ioredis reconnects by itself
    this.subscriber = subscriber;
    let readyOnce = false;
    subscriber.on('ready', () => {
      // A reconnect: notices published meanwhile are gone, so caches must be dropped.
      if (readyOnce) for (const listener of this.listeners) listener.reset();
      readyOnce = true;
    });
    const onMessage = (channel: string, message: string): void => {
      if (channel !== this.channel) return;
      const [version, code, bare] = splitNotice(message);
      if (version !== String(NOTICE_VERSION) && version !== String(NOTICE_VERSION - 1)) return;
      const kind = CODE_KINDS.get(code);
      if (!kind || bare === '') return;
      this.telemetry?.changeNotice('in');
      for (const listener of this.listeners) listener.changed(bare, kind);
    };
    if (this.sharded) {
      subscriber.on('smessage', onMessage);
      await subscriber.ssubscribe(this.channel);
    } else {
      subscriber.on('message', onMessage);
      await subscriber.subscribe(this.channel);
    }
  }

  async publish(bareJid: string, kind: ChangeKind): Promise<void> {
    const notice = encodeNotice(bareJid, kind);
    if (this.sharded) await this.client.spublish(this.channel, notice);
    else await this.client.publish(this.channel, notice);
    this.telemetry?.changeNotice('out');
  }

  publishedWithWrite(): void {
    this.telemetry?.changeNotice('out');
  }

  subscribe(listener: ChangeListener): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {
    this.subscriber?.disconnect();
    this.subscriber = undefined;
  }
}

/** The notice for one account's change: "version|kind|bare JID" (a store script may publish it itself). */
export function encodeNotice(bareJid: string, kind: ChangeKind): string {
  return `${NOTICE_VERSION}|${KIND_CODES[kind]}|${bareJid}`;
}

/** "version|kind|bare JID" (the JID may itself contain '|'). */
function splitNotice(message: string): [string, string, string] {
  const first = message.indexOf('|');
  const second = message.indexOf('|', first + 1);
  if (first < 0 || second < 0) return ['', '', ''];
  return [message.slice(0, first), message.slice(first + 1, second), message.slice(second + 1)];
}
