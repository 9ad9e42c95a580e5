// Load for the upgrade-safety tests: pairs of a slixmpp client (Debian's python3-slixmpp, its own
// XEP-0198) and one of ours (SmClient) chatting through HAProxy every intervalMs, each message
// with the id `<sender>.<seq>`, while the caller disturbs the nodes. The ledger counts, per
// message, whether the sender's server acknowledged it (its h covered it) and every reception;
// per sender and receiver, receptions out of sequence. What must hold (doc/upgrade-safety.md):
// nothing acknowledged is lost, nothing arrives twice, no sender's messages overtake each
// other, no client logs in again, nobody is seen unavailable.
import type { Element } from 'ltx';
import { type LocalCluster, startLocalCluster, waitFor } from '../../tools/local-cluster.js';
import { createRedisBackend } from '../../cluster/redis/index.js';
import { deriveCredentials } from '../../src/sasl/credentials.js';
import type { StateBackend } from '../../src/state/backend.js';
import { SlixClient, type SlixEvent } from '../support/slix-client.js';
import { befriendInStore, SmClient } from '../support/sm-client.js';

const PASSWORD = 'upgrade-secret';
const MAX_PROBLEMS = 40;

export interface MixedLoadOptions {
  /** Pairs of one slixmpp and one SmClient client. */
  pairs: number;
  /** How many of the pairs have a slixmpp client (the first ones; the others are two of ours). Default: all. */
  slixPairs?: number;
  nodes: number;
  intervalMs: number;
  env?: Record<string, string>;
  /** Redis with an append-only file, for a test that restarts it. */
  redisAppendOnly?: boolean;
  log(line: string): void;
}

interface Entry {
  sender: number;
  seq: number;
  acked: boolean;
  received: number;
  trace: string[];
}

export interface Figures {
  sent: number;
  acked: number;
  /** Acknowledged by the sender's server and never received. */
  lost: number;
  /** Receptions beyond the first of an id. */
  duplicates: number;
  /** First receptions of a message after one with a higher seq from the same sender. */
  outOfOrder: number;
  /** Sessions that had to be started again: slixmpp binding anew, SmClient refused (<failed/>). */
  relogins: number;
  /** Unavailable presences from the clients' JIDs seen while recording. */
  unavailable: number;
  /** Messages slixmpp wrote, the server never handled (<resumed h/> says so), and slixmpp never sent again. */
  slixDropped: number;
  resumes: number;
  problems: string[];
}

/** A client of the load, whichever library drives it. */
export interface LoadClient {
  index: number;
  kind: 'slix' | 'sm';
  jid: string;
  online(): boolean;
  resumes(): number;
  relogins(): number;
  /** When it last got its session back (ms). */
  resumedAt(): number;
  available(): void;
  send(to: string, id: string): void;
  barrier(): Promise<void>;
  close(): Promise<void>;
}

export class MixedLoad {
  readonly clients: LoadClient[] = [];
  readonly entries = new Map<string, Entry>();
  readonly problems: string[] = [];
  /** Per receiver, per sender: the highest seq received so far. */
  private readonly highest = new Map<string, number>();
  private outOfOrder = 0;
  private unavailable = 0;
  private slixDropped = new Set<string>();
  private recording = false;
  private sending = false;
  private timers: NodeJS.Timeout[] = [];
  private constructor(
    readonly cluster: LocalCluster,
    readonly state: StateBackend,
    readonly options: MixedLoadOptions,
  ) {}

  static async start(options: MixedLoadOptions): Promise<MixedLoad> {
    const cluster = await startLocalCluster({
      nodes: options.nodes,
      port: 0,
      redisPort: 0,
      nodeBasePort: 0,
      domain: 'localhost',
      output: 'capture',
      check: { intervalMs: 200, fall: 2, rise: 1 },
      redisAppendOnly: options.redisAppendOnly === true,
      log: options.log,
      env: { ROOKERY_ALLOW_PLAINTEXT_AUTH: 'true', ROOKERY_DRAIN_TIMEOUT_SECONDS: '5', ROOKERY_LOG_LEVEL: 'warn', ...options.env },
    });
    const state = await createRedisBackend({ url: cluster.redisUrl, prefix: cluster.prefix });
    const load = new MixedLoad(cluster, state, options);
    try {
      await load.login();
    } catch (error) {
      await load.stop();
      throw error;
    }
    return load;
  }

  private problem(text: string): void {
    if (this.problems.length < MAX_PROBLEMS) this.problems.push(text);
  }

  private bare(index: number): string {
    return `mixed${index}@${this.cluster.domain}`;
  }

  /** Client 2k is slixmpp (in the first slixPairs pairs), 2k+1 ours; each pair chats. */
  partner(index: number): number {
    return index % 2 === 0 ? index + 1 : index - 1;
  }

  private async login(): Promise<void> {
    const count = this.options.pairs * 2;
    const credentials = await deriveCredentials(PASSWORD);
    for (let index = 0; index < count; index++) await this.state.accounts.create(this.bare(index), credentials);
    for (let index = 0; index < count; index += 2) await befriendInStore(this.state, this.bare(index), this.bare(index + 1));
    const seen = new Set<number>();
    const onPresence = (receiver: number, from: string, unavailable: boolean): void => {
      if (unavailable) {
        if (this.recording && this.clients.some((client) => from === client.jid || from === client.jid.split('/')[0])) {
          this.unavailable += 1;
          this.problem(`client ${receiver} saw ${from} go unavailable at ${new Date().toISOString().slice(11, 23)}`);
        }
      } else if (from.startsWith(`${this.bare(this.partner(receiver))}/`)) seen.add(receiver);
    };
    for (let start = 0; start < count; start += 10) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(10, count - start) }, (_, offset) => {
          const index = start + offset;
          const slix = index % 2 === 0 && index / 2 < (this.options.slixPairs ?? this.options.pairs);
          return slix ? this.loginSlix(index, onPresence) : this.loginSm(index, onPresence);
        }),
      );
      this.clients.push(...batch);
    }
    for (const client of this.clients) client.available();
    await waitFor(() => seen.size === count, 30_000, 'every client seeing its partner available');
    this.options.log(`${count} clients (${this.clients.filter((client) => client.kind === 'slix').length} slixmpp) online, every one sees its partner`);
  }

  private received(receiver: number, id: string, from: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    const stamp = new Date().toISOString().slice(11, 23);
    entry.received += 1;
    entry.trace.push(`${stamp} received by ${receiver} from ${from}`);
    if (this.partner(entry.sender) !== receiver) this.problem(`${id} reached client ${receiver}`);
    if (entry.received > 1) {
      this.problem(`duplicate: ${id} (${entry.trace.join('; ')})`);
      return;
    }
    const key = `${receiver}<${entry.sender}`;
    const highest = this.highest.get(key) ?? 0;
    if (entry.seq < highest) {
      this.outOfOrder += 1;
      this.problem(`out of order: ${id} after ${entry.sender}.${highest} at client ${receiver}`);
    } else this.highest.set(key, entry.seq);
  }

  private acked(id: string): void {
    const entry = this.entries.get(id);
    if (!entry || entry.acked) return;
    entry.acked = true;
    entry.trace.push(`${new Date().toISOString().slice(11, 23)} acked`);
  }

  private async loginSlix(index: number, onPresence: (receiver: number, from: string, unavailable: boolean) => void): Promise<LoadClient> {
    const onEvent = (event: SlixEvent): void => {
      switch (event.ev) {
        case 'msg':
          this.received(index, event.id, event.from);
          break;
        case 'acked':
          for (const id of event.ids) this.acked(id);
          break;
        case 'unhandled':
          for (const id of event.ids) {
            this.slixDropped.add(id);
            this.entries.get(id)?.trace.push(`written by slixmpp, not handled by the server before <resumed h='${event.h}'/>`);
          }
          break;
        case 'resent':
          this.slixDropped.delete(event.id);
          break;
        case 'available':
        case 'unavailable':
          onPresence(index, event.from, event.ev === 'unavailable');
          break;
        case 'relogin':
        case 'failed':
          this.problem(`slixmpp client ${index}: ${JSON.stringify(event)}`);
          break;
        case 'bounce':
          this.problem(`slixmpp client ${index} got a bounce: ${event.xml.slice(0, 300)}`);
          break;
        case 'error':
          this.problem(`slixmpp client ${index}: ${event.text}`);
          break;
        default:
          break;
      }
    };
    const client = await SlixClient.login({ jid: `${this.bare(index)}/r${index}`, password: PASSWORD, port: this.cluster.port, onEvent });
    return {
      index,
      kind: 'slix',
      jid: client.jid as string,
      online: () => client.online,
      resumes: () => client.resumes,
      relogins: () => client.relogins + client.failures,
      resumedAt: () => client.resumedAt,
      send: (to, id) => client.send(to, id),
      barrier: () => client.barrier(),
      close: () => client.close(),
      available: () => client.available(),
    };
  }

  private async loginSm(index: number, onPresence: (receiver: number, from: string, unavailable: boolean) => void): Promise<LoadClient> {
    /** Position of each of our messages in the client's outbound count: acknowledged once `acked` reaches it. */
    const positions: Array<[number, string]> = [];
    const settle = (client: SmClient): void => {
      while (positions.length > 0 && (positions[0] as [number, string])[0] <= client.acked) this.acked((positions.shift() as [number, string])[1]);
    };
    const client = await SmClient.login({
      port: this.cluster.port,
      domain: this.cluster.domain,
      username: `mixed${index}`,
      password: PASSWORD,
      resource: `r${index}`,
      plaintext: true,
      keep: false,
      autoResume: true,
      resumeDeadlineMs: 60_000,
      onStanza: (stanza: Element, self) => {
        settle(self);
        if (stanza.name === 'message') {
          if (stanza.attrs.type === 'error') this.problem(`client ${index} got a bounce: ${stanza.toString().slice(0, 300)}`);
          else this.received(index, String(stanza.attrs.id ?? ''), String(stanza.attrs.from ?? ''));
        } else if (stanza.name === 'presence' && (stanza.attrs.type === undefined || stanza.attrs.type === 'unavailable')) {
          onPresence(index, String(stanza.attrs.from ?? ''), stanza.attrs.type === 'unavailable');
        }
      },
    });
    const timer = setInterval(() => settle(client), 100);
    this.timers.push(timer);
    return {
      index,
      kind: 'sm',
      jid: client.jid as string,
      online: () => client.state === 'online',
      resumes: () => client.resumes,
      relogins: () => client.failures.length + (client.state === 'failed' ? 1 : 0),
      resumedAt: () => client.resumedAt,
      send(to, id) {
        if (client.state === 'failed' || client.state === 'closed') return;
        client.message(to, `message ${id}`, id);
        positions.push([client.outbound, id]);
      },
      barrier: async () => {
        await client.barrier(15_000);
        await client.ack(5000).catch(() => undefined);
        settle(client);
      },
      close: () => client.close(),
      available: () => client.send('<presence/>'),
    };
  }

  /** Every client sends its partner a message every intervalMs, each at its own phase. */
  startTraffic(): void {
    this.recording = true;
    this.sending = true;
    const sequence = new Array<number>(this.clients.length).fill(0);
    for (const client of this.clients) {
      const target = this.clients[this.partner(client.index)] as LoadClient;
      const tick = (): void => {
        if (!this.sending) return;
        const seq = ++sequence[client.index]!;
        const id = `${client.index}.${seq}`;
        this.entries.set(id, { sender: client.index, seq, acked: false, received: 0, trace: [`${new Date().toISOString().slice(11, 23)} sent by ${client.kind} ${client.index}`] });
        client.send(target.jid, id);
      };
      this.timers.push(
        setTimeout(() => {
          tick();
          this.timers.push(setInterval(tick, this.options.intervalMs));
        }, Math.floor(Math.random() * this.options.intervalMs)),
      );
    }
  }

  get sent(): number {
    return this.entries.size;
  }

  /** Stops sending, waits until every acknowledged message arrived (or settleMs passed) and a round trip per client. */
  async settle(settleMs: number): Promise<Figures> {
    this.sending = false;
    await waitFor(() => this.clients.every((client) => client.online()), 30_000, 'every client online').catch((error: unknown) => this.problem(String(error)));
    await Promise.all(this.clients.map((client) => client.barrier().catch((error: unknown) => this.problem(`barrier of client ${client.index}: ${String(error)}`))));
    const waiting = (): Entry[] => [...this.entries.values()].filter((entry) => entry.acked && entry.received === 0);
    await waitFor(() => waiting().length === 0, settleMs, 'every acknowledged message delivered').catch(() => undefined);
    await Promise.all(this.clients.map((client) => client.barrier().catch((error: unknown) => this.problem(`barrier of client ${client.index}: ${String(error)}`))));
    this.recording = false;
    let acked = 0;
    let lost = 0;
    let duplicates = 0;
    for (const [id, entry] of this.entries) {
      if (entry.acked) acked += 1;
      if (entry.acked && entry.received === 0) {
        lost += 1;
        this.problem(`lost: ${id} (${entry.trace.join('; ')})`);
      }
      if (entry.received > 1) duplicates += entry.received - 1;
    }
    for (const id of this.slixDropped) this.problem(`slixmpp never sent again: ${id} (${this.entries.get(id)?.trace.join('; ')})`);
    return {
      sent: this.entries.size,
      acked,
      lost,
      duplicates,
      outOfOrder: this.outOfOrder,
      relogins: this.clients.reduce((sum, client) => sum + client.relogins(), 0),
      unavailable: this.unavailable,
      slixDropped: this.slixDropped.size,
      resumes: this.clients.reduce((sum, client) => sum + client.resumes(), 0),
      problems: this.problems,
    };
  }

  /** Clients whose session is on `node` in the registry now. */
  async clientsOn(node: string): Promise<LoadClient[]> {
    const placement = new Map<string, string>();
    for await (const record of this.state.registry.all()) placement.set(record.full_jid, record.node);
    return this.clients.filter((client) => placement.get(client.jid) === node);
  }

  async stop(): Promise<void> {
    this.sending = false;
    for (const timer of this.timers) clearTimeout(timer);
    await Promise.all(this.clients.map((client) => client.close().catch(() => undefined)));
    await this.state.close();
    await this.cluster.stop();
  }
}

export function formatFigures(figures: Figures): string {
  return [
    `sent ${figures.sent}, acknowledged ${figures.acked}, lost ${figures.lost}, duplicates ${figures.duplicates}, out of order ${figures.outOfOrder}`,
    `resumes ${figures.resumes}, re-logins ${figures.relogins}, unavailable seen ${figures.unavailable}, written by slixmpp and never sent again ${figures.slixDropped}`,
    ...figures.problems,
  ].join('\n');
}
