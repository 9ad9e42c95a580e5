// The process guards in a real child process: errors that escaped their handlers are logged and
// counted and the process goes on, unless its state can no longer be trusted.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT_FATAL } from '../../src/process-guard.js';

const child = fileURLToPath(new URL('./guarded-child.ts', import.meta.url));
const running: ChildProcessWithoutNullStreams[] = [];

function start(env: Record<string, string> = {}): ChildProcessWithoutNullStreams {
  const process_ = spawn(process.execPath, ['--import', 'tsx', child], { env: { ...process.env, ...env } });
  running.push(process_);
  return process_;
}

function nextLine(stream: NodeJS.ReadableStream, matching: RegExp): Promise<string> {
  return new Promise((resolve) => {
    let buffered = '';
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString('utf8');
      const line = buffered.split('\n').find((candidate) => matching.test(candidate));
      if (line !== undefined) {
        stream.off('data', onData);
        resolve(line);
      }
    };
    stream.on('data', onData);
  });
}

function exitCode(process_: ChildProcessWithoutNullStreams): Promise<number | null> {
  return new Promise((resolve) => process_.once('exit', (code) => resolve(code)));
}

afterEach(() => {
  for (const process_ of running.splice(0)) process_.kill('SIGKILL');
});

describe('the process guards', () => {
  it('log and count an uncaught exception and an unhandled rejection, and the process goes on', async () => {
    const guarded = start();
    const logged = nextLine(guarded.stderr, /unhandled_rejection/);
    guarded.stdin.write('throw\nreject\nstatus\n');
    expect(await nextLine(guarded.stdout, /^alive/)).toBe('alive exception,rejection');
    const line = JSON.parse(await logged) as { err?: { message?: string } };
    expect(line.err?.message).toBe('rejected');
  });

  it('hand the clients over and exit with 70 on a FatalError', async () => {
    const guarded = start();
    const exited = exitCode(guarded);
    guarded.stdin.write('fatal\n');
    expect(await nextLine(guarded.stdout, /shutting-down/)).toBe('shutting-down');
    expect(await exited).toBe(EXIT_FATAL);
  });

  it('end the process when errors keep escaping (a crash loop)', async () => {
    const guarded = start({ CRASH_LOOP_LIMIT: '3' });
    const exited = exitCode(guarded);
    guarded.stdin.write('throw\nthrow\nthrow\nstatus\n');
    expect(await nextLine(guarded.stdout, /^alive/)).toBe('alive exception,exception,exception');
    guarded.stdin.write('throw\n');
    expect(await exited).toBe(EXIT_FATAL);
  });
});
