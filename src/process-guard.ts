// What the process does with an error that escaped every connection and request handler.
//
// The policy (README: Failure behaviour):
// - an unhandled rejection is one operation that failed: logged, counted, the node goes on;
// - an uncaught exception is logged and counted, and the node goes on too: every change to shared
//   state is atomic in the store, and a socket's handler already closes its own connection on
//   error, so what is left to lose is one callback, not the truth. One node ending every client's
//   session costs more;
// - the node still ends when its own state can no longer be trusted: a FatalError (a broken
//   invariant in what the process holds), or more than `crashLoopLimit` uncaught errors within
//   a minute (something fails on every turn). It then hands its clients over as on SIGTERM
//   (stream management lets them resume elsewhere) and exits with EXIT_FATAL.
import type { Logger } from './log.js';
import type { Telemetry, UncaughtKind } from './telemetry.js';

/** sysexits' EX_SOFTWARE: an internal error the process could not recover from. */
export const EXIT_FATAL = 70;

/** Thrown when what the process holds in memory contradicts itself and cannot be repaired in place. */
export class FatalError extends Error {
  override readonly name = 'FatalError';
}

export interface ProcessGuardOptions {
  log: Logger;
  telemetry: Pick<Telemetry, 'uncaughtError'>;
  /** Hands the clients over and stops the node; the process exits when it settles. */
  shutDown(): Promise<void>;
  /** Uncaught errors within a minute past which the node ends. */
  crashLoopLimit?: number;
  exit?: (code: number) => void;
}

const WINDOW_MS = 60_000;

/** Installs the handlers; returns their removal. */
export function installProcessGuards(options: ProcessGuardOptions): () => void {
  const { log, telemetry } = options;
  const limit = options.crashLoopLimit ?? 50;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const recent: number[] = [];
  let ending = false;

  const endProcess = (reason: string): void => {
    if (ending) return;
    ending = true;
    log.fatal({ event: 'process_ending', reason }, 'the node ends: its state can no longer be trusted');
    void options.shutDown().then(
      () => exit(EXIT_FATAL),
      (err: unknown) => {
        log.error({ event: 'stop_failed', err }, 'the node could not stop cleanly');
        exit(EXIT_FATAL);
      },
    );
  };

  const handle = (kind: UncaughtKind, error: unknown): void => {
    telemetry.uncaughtError(kind);
    log.error({ event: kind === 'exception' ? 'uncaught_exception' : 'unhandled_rejection', err: error }, 'an error escaped its handler');
    if (error instanceof FatalError) return endProcess('fatal-error');
    const now = Date.now();
    recent.push(now);
    while (recent.length > 0 && (recent[0] as number) < now - WINDOW_MS) recent.shift();
    if (recent.length > limit) endProcess('crash-loop');
  };

  const onException = (error: Error): void => handle('exception', error);
  const onRejection = (reason: unknown): void => handle('rejection', reason);
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  return () => {
    process.off('uncaughtException', onException);
    process.off('unhandledRejection', onRejection);
  };
}
