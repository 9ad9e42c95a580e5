// Group commit for the durable store. SQLite runs with synchronous=NORMAL: a commit writes its
// WAL frames to the file (the page cache) before it returns, without an fsync. A store resolves
// its promise only after `flushed()`, an fsync of the WAL file that began after the commit. The
// fsync runs on libuv's thread pool, so the event loop is not held, and every commit made while
// one fsync runs shares the next one. SQLite itself syncs the WAL before each checkpoint and the
// database after it, so a commit is always in the synced WAL or in the synced database.
import { closeSync, fsync, openSync } from 'node:fs';

export class WalSync {
  private readonly fd: number;
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  /** After a failed fsync the kernel may have dropped the pages: no later write is called durable. */
  private failure: Error | undefined;
  private closed = false;

  /** `walFile` must exist; SQLite keeps it (the same inode) until the database is closed. */
  constructor(walFile: string) {
    this.fd = openSync(walFile, 'r');
  }

  /** Resolves once everything committed before the call is on disk. */
  flushed(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (!this.running) return (this.running = this.sync());
    // The running fsync may have begun before this commit: share the one after it.
    this.queued ??= this.running.then(
      () => this.startQueued(),
      () => this.startQueued(),
    );
    return this.queued;
  }

  /** After the last flushed() has settled; SQLite's own close then checkpoints and syncs. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([this.running, this.queued]);
    closeSync(this.fd);
  }

  private startQueued(): Promise<void> {
    this.queued = undefined;
    if (this.failure) return Promise.reject(this.failure);
    // A flushed() since the last fsync ended may have started one: it began after our commits too.
    return (this.running ??= this.sync());
  }

  private sync(): Promise<void> {
    return new Promise((resolve, reject) => {
      fsync(this.fd, (error) => {
        this.running = undefined;
        if (error) {
          this.failure = new Error(`fsync of the write-ahead log failed (${error.code ?? error.message}); restart the node`);
          reject(this.failure);
        } else {
          resolve();
        }
      });
    });
  }
}
