// Counts the Redis round trips an operation waits for, from inside the process whose ioredis
// clients send the commands (nodes started with startNode in the test process).
//
// Every command sent while counting gets a depth: one more than the deepest counted command
// whose reply had arrived when it was sent. Commands sent before any of their predecessors'
// replies came back (a pipeline, a MULTI, a Promise.all, a script) share a depth; a command sent
// after a reply is one deeper, whether or not it needed that reply. The deepest depth is so
// never less than the number of sequential waits on Redis, and a command this counter does not
// see would be missing from `commands` too (the tests compare those with MONITOR's).
import { Redis } from 'ioredis';

export interface SentCommand {
  /** Upper case, as MONITOR shows it (EVALSHA for a script). */
  command: string;
  /** The first key (for a script, its first KEYS entry), or else the first argument. */
  key: string;
  /** The first argument (a script's SHA-1 or text). */
  first: string;
  depth: number;
}

/** Which commands count (the test's keys, without the background traffic of its nodes). */
export type CommandFilter = (command: string, key: string, first: string) => boolean;

interface Sendable {
  name: string;
  args: unknown[];
  promise: Promise<unknown>;
}

type SendCommand = (this: Redis, command: Sendable, ...rest: unknown[]) => unknown;

export class RoundTripCounter {
  private sent: SentCommand[] = [];
  private deepestAnswered = 0;
  private inFlight = 0;
  private counting = false;
  private readonly original: SendCommand;

  constructor(private readonly counts: CommandFilter) {
    // Cluster clients send through their nodes' Redis connections, so one patch sees both.
    const prototype = Redis.prototype as unknown as { sendCommand: SendCommand };
    this.original = prototype.sendCommand;
    const counter = this;
    prototype.sendCommand = function (this: Redis, command: Sendable, ...rest: unknown[]): unknown {
      counter.observe(command);
      return counter.original.call(this, command, ...rest);
    };
  }

  /** Starts a new count. */
  start(): void {
    this.sent = [];
    this.deepestAnswered = 0;
    this.counting = true;
  }

  /**
   * Resolves when no command that passes the filter has been in flight for two checks 20 ms
   * apart (or after `timeoutMs`): what an earlier step set going is done.
   */
  async idle(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let idle = 0;
    while (idle < 2 && Date.now() < deadline) {
      idle = this.inFlight === 0 ? idle + 1 : 0;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Waits until `idle`, then stops counting. */
  async stop(timeoutMs = 5000): Promise<{ commands: SentCommand[]; roundTrips: number }> {
    await this.idle(timeoutMs);
    this.counting = false;
    const commands = this.sent;
    return { commands, roundTrips: Math.max(0, ...commands.map((entry) => entry.depth)) };
  }

  /** Puts ioredis back as it was. */
  uninstall(): void {
    (Redis.prototype as unknown as { sendCommand: SendCommand }).sendCommand = this.original;
  }

  private observe(command: Sendable): void {
    const name = command.name.toUpperCase();
    const args = command.args.map((arg) => String(arg));
    // As MONITOR names them: a script by its first key, anything else by its first argument
    // (a PUBLISH by its channel).
    const key = (name === 'EVALSHA' || name === 'EVAL' ? args[2] : args[0]) ?? '';
    const first = args[0] ?? '';
    if (!this.counts(name, key, first)) return;
    this.inFlight += 1;
    const entry: SentCommand | undefined = this.counting ? { command: name, key, first, depth: this.deepestAnswered + 1 } : undefined;
    if (entry) this.sent.push(entry);
    const answered = (): void => {
      this.inFlight -= 1;
      if (entry && this.counting) this.deepestAnswered = Math.max(this.deepestAnswered, entry.depth);
    };
    command.promise.then(answered, answered);
  }
}

/** The commands of each depth, for a failure message that shows the sequence. */
export function describeWaves(commands: readonly SentCommand[]): string[] {
  const waves = new Map<number, string[]>();
  for (const entry of commands) waves.set(entry.depth, [...(waves.get(entry.depth) ?? []), `${entry.command} ${entry.key}`]);
  return [...waves.entries()].sort(([a], [b]) => a - b).map(([depth, list]) => `${depth}: ${list.join(', ')}`);
}
