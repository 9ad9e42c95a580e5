// A child process with the node's process guards: it throws what the test tells it to on stdin
// and reports on stdout, so the test sees what a real process does with each error.
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import { FatalError, installProcessGuards } from '../../src/process-guard.js';

const counted: string[] = [];
installProcessGuards({
  log: pino({ level: 'info' }, process.stderr),
  telemetry: { uncaughtError: (kind) => counted.push(kind) },
  shutDown: async () => {
    process.stdout.write('shutting-down\n');
  },
  crashLoopLimit: Number(process.env.CRASH_LOOP_LIMIT ?? 50),
});

createInterface({ input: process.stdin }).on('line', (command) => {
  if (command === 'throw') setTimeout(() => { throw new Error('boom'); }, 0);
  if (command === 'reject') void Promise.reject(new Error('rejected'));
  if (command === 'fatal') setTimeout(() => { throw new FatalError('the local session maps disagree'); }, 0);
  // Answered after the errors of earlier lines were handled: the process is alive and counting.
  if (command === 'status') setTimeout(() => process.stdout.write(`alive ${[...counted].sort().join(',')}\n`), 20);
});
