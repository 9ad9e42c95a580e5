// Debian's slixmpp (python3-slixmpp, with its own XEP-0198 plugin) as a test client: spawns
// test/support/slix-client.py, which logs in through the given port (STARTTLS, resumption on),
// reconnects and resumes by itself when its connection is lost, sends chat messages with the
// ids it is given, and reports as JSON lines what it receives and which of its messages the
// server's h acknowledges (tracked from the wire, see the script's header).
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./slix-client.py', import.meta.url));
/** Debian's python3, which python3-slixmpp installs for (a pyenv or venv python3 first on PATH does not see it). */
export const PYTHON = process.env.ROOKERY_TEST_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');

/** One line of the script's output. */
export type SlixEvent =
  | { ev: 'bound' | 'relogin'; jid: string }
  | { ev: 'enabled'; smId: string }
  | { ev: 'resumed'; h: number }
  | { ev: 'failed'; xml: string }
  | { ev: 'disconnected' }
  | { ev: 'msg'; id: string; from: string; delay: boolean }
  | { ev: 'bounce'; id: string; xml: string }
  | { ev: 'unavailable' | 'available'; from: string }
  | { ev: 'written' | 'resent'; id: string }
  | { ev: 'acked' | 'unhandled'; ids: string[]; h: number }
  | { ev: 'pong'; id: string; error?: string }
  | { ev: 'error'; text: string };

export interface SlixClientOptions {
  jid: string;
  password: string;
  port: number;
  host?: string;
  /** Every event, as it comes (after the client's own bookkeeping). */
  onEvent?(event: SlixEvent, client: SlixClient): void;
  /** slixmpp's debug log (the stanza trace) to stderr, captured in `stderr`. */
  debug?: boolean;
}

let pings = 0;

export class SlixClient {
  jid: string | undefined;
  smId: string | undefined;
  /** Connected with stream management enabled or resumed, and not disconnected since. */
  online = false;
  resumes = 0;
  relogins = 0;
  failures = 0;
  /** When the connection was last lost and last came back (ms). */
  lostAt = 0;
  resumedAt = 0;
  /** The stanza trace and errors, when `debug` is on (bounded). */
  stderr = '';
  readonly errors: string[] = [];
  private readonly child: ChildProcess;
  private readonly waiters = new Set<(event: SlixEvent) => boolean>();
  private exited: Promise<void>;

  private constructor(readonly options: SlixClientOptions) {
    const args = [SCRIPT, '--jid', options.jid, '--password', options.password, '--host', options.host ?? '127.0.0.1', '--port', String(options.port)];
    if (options.debug) args.push('--debug');
    this.child = spawn(PYTHON, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-2_000_000);
    });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      let event: SlixEvent;
      try {
        event = JSON.parse(line) as SlixEvent;
      } catch {
        this.errors.push(`not JSON: ${line.slice(0, 200)}`);
        return;
      }
      this.onEvent(event);
    });
  }

  /** Starts the script and waits until stream management is enabled. */
  static async login(options: SlixClientOptions, timeoutMs = 20_000): Promise<SlixClient> {
    const client = new SlixClient(options);
    try {
      await client.next((event) => event.ev === 'enabled', timeoutMs, 'stream management enabled');
    } catch (error) {
      await client.kill();
      throw new Error(`${(error as Error).message}; stderr: ${client.stderr.slice(-2000)}`);
    }
    return client;
  }

  private onEvent(event: SlixEvent): void {
    switch (event.ev) {
      case 'bound':
        this.jid = event.jid;
        break;
      case 'relogin':
        this.relogins += 1;
        this.jid = event.jid;
        break;
      case 'enabled':
        this.smId = event.smId;
        this.online = true;
        break;
      case 'resumed':
        this.resumes += 1;
        this.resumedAt = Date.now();
        this.online = true;
        break;
      case 'failed':
        this.failures += 1;
        break;
      case 'disconnected':
        if (this.online) this.lostAt = Date.now();
        this.online = false;
        break;
      case 'error':
        this.errors.push(event.text);
        break;
      default:
        break;
    }
    this.options.onEvent?.(event, this);
    for (const waiter of [...this.waiters]) if (waiter(event)) this.waiters.delete(waiter);
  }

  /** Resolves with the first event from now on that `match` accepts. */
  next(match: (event: SlixEvent) => boolean, timeoutMs: number, what: string): Promise<SlixEvent> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`${this.options.jid}: no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (event: SlixEvent): boolean => {
        if (!match(event)) return false;
        clearTimeout(timer);
        resolve(event);
        return true;
      };
      this.waiters.add(waiter);
    });
  }

  private command(request: Record<string, string>): void {
    if (this.child.stdin?.writable) this.child.stdin.write(`${JSON.stringify(request)}\n`);
  }

  available(): void {
    this.command({ cmd: 'presence' });
  }

  /** A chat message; slixmpp holds it while it has no session and sends it once it resumes. */
  send(to: string, id: string): void {
    this.command({ cmd: 'send', to, id });
  }

  /** A ping round trip to the domain: everything the server sent before is in once it resolves. */
  async barrier(timeoutMs = 15_000): Promise<void> {
    const id = `slixping${++pings}`;
    const pong = this.next((event) => event.ev === 'pong' && event.id === id, timeoutMs + 1000, 'pong');
    this.command({ cmd: 'ping', id });
    const event = (await pong) as { error?: string };
    if (event.error) throw new Error(`ping: ${event.error}`);
  }

  /** Ends the session cleanly and waits for the script to exit. */
  async close(): Promise<void> {
    this.command({ cmd: 'close' });
    this.child.stdin?.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }

  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }
}
