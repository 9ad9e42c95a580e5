// What a connection writes to its client. Output is batched per event-loop turn: what all the
// stanzas handled in one turn send to a client goes out as one write (one syscall, one TLS
// record) instead of one per stanza. While the socket's buffer is full, whole stanzas wait in a
// backlog, where they can still be rescued, up to a bound past which the client is cut off.
// On a framed link (a WebSocket, RFC 7395 §3.3.3) each element is its own message: no batching.
import type { Link } from './link.js';

/** One setImmediate serves every connection with output waiting. */
const unflushed: Array<() => void> = [];
let flushScheduled = false;

function scheduleFlush(flush: () => void): void {
  unflushed.push(flush);
  if (flushScheduled) return;
  flushScheduled = true;
  setImmediate(flushAll);
}

function flushAll(): void {
  flushScheduled = false;
  // A flush may not schedule another (nothing is written meanwhile), but stay safe if one does.
  const flushes = unflushed.splice(0);
  for (const flush of flushes) flush();
}

export class Output {
  /** Output of this event-loop turn, written by flush (see scheduleFlush). */
  private pending = '';
  /** Outbound data kept back while the socket's buffer is full (see write). */
  private readonly backlog: string[] = [];
  private backlogBytes = 0;
  private readonly writableWaiters: Array<() => void> = [];

  constructor(
    private socket: Link,
    private readonly maxBytes: number,
    /** The connection has closed: nothing more is written. */
    private readonly isClosed: () => boolean,
    /** Past `maxBytes`: what the client never took, for the connection to cut it off and rescue it. */
    private readonly onOverflow: (untaken: string[]) => void,
    /** One write per element (link.ts). */
    private readonly framed = false,
  ) {}

  /** After STARTTLS: the same output over the TLS socket. */
  setSocket(socket: Link): void {
    this.socket = socket;
  }

  /** Writes a stanza, or keeps it back while the client reads slower than it is sent to. */
  write(data: string): void {
    if (this.backlog.length === 0 && !this.socket.writableNeedDrain) {
      this.out(data);
      return;
    }
    // Whole stanzas wait here, where they can still be rescued, rather than in the socket's buffer.
    this.backlog.push(data);
    this.backlogBytes += data.length;
    if (this.backlog.length === 1) this.socket.once('drain', this.flushBacklog);
    if (this.backlogBytes + this.socket.writableLength > this.maxBytes) {
      const untaken = this.backlog.splice(0);
      this.backlogBytes = 0;
      this.wakeWriters();
      this.onOverflow(untaken);
    }
  }

  /**
   * Joins this turn's output. Past the socket's high-water mark it is written at once, so that the
   * socket reports a full buffer and what follows waits in the backlog, as without the batching.
   */
  out(data: string): void {
    if (this.framed) {
      if (!this.socket.destroyed) this.socket.write(data);
      return;
    }
    if (this.pending === '') scheduleFlush(this.flush);
    this.pending += data;
    if (this.pending.length + this.socket.writableLength >= this.socket.writableHighWaterMark) this.flush();
  }

  readonly flush = (): void => {
    if (this.pending === '') return;
    const data = this.pending;
    this.pending = '';
    // A socket the peer closed takes nothing more, as when each stanza was written at once.
    if (!this.socket.destroyed) this.socket.write(data);
  };

  /** Resolves once the client has taken what waits (at once when nothing does, or once closed). */
  writable(): Promise<void> {
    if (this.isClosed() || (this.backlog.length === 0 && !this.socket.writableNeedDrain)) return Promise.resolve();
    return new Promise((resolve) => {
      this.writableWaiters.push(resolve);
      // With a backlog, flushBacklog wakes the waiters once it is gone.
      if (this.backlog.length === 0) this.socket.once('drain', () => this.wakeWriters());
    });
  }

  /** Before the socket ends: what waits goes out after all (the client may yet read it). */
  writeAll(): void {
    // This turn's output precedes the backlog (there is never both: see write).
    this.flush();
    for (const data of this.backlog.splice(0)) this.socket.write(data);
    this.backlogBytes = 0;
    this.wakeWriters();
  }

  /** The socket is gone: this turn's output is dropped and the waiters are released. */
  discard(): void {
    this.pending = '';
    this.wakeWriters();
  }

  private readonly flushBacklog = (): void => {
    while (this.backlog.length > 0 && !this.socket.writableNeedDrain && !this.isClosed()) {
      const data = this.backlog.shift() as string;
      this.backlogBytes -= data.length;
      this.socket.write(data);
    }
    if (this.backlog.length > 0 && !this.isClosed()) {
      this.socket.once('drain', this.flushBacklog);
      return;
    }
    this.wakeWriters();
  };

  private wakeWriters(): void {
    for (const wake of this.writableWaiters.splice(0)) wake();
  }
}
