// The orchestrator's side of the load-generator processes (worker.ts), forked with tsx.
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Request, ResponseEnvelope } from './protocol.js';

const WORKER = fileURLToPath(new URL('../worker.ts', import.meta.url));

export class Generator {
  private readonly child: ChildProcess;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();

  constructor(readonly index: number) {
    this.child = fork(WORKER, [], {
      execArgv: ['--import', 'tsx', ...(process.env.BENCH_WORKER_NODE_OPTIONS ? process.env.BENCH_WORKER_NODE_OPTIONS.split(' ') : [])],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    this.child.on('message', (message: ResponseEnvelope) => {
      const waiter = this.pending.get(message.id);
      if (!waiter) return;
      this.pending.delete(message.id);
      if (message.ok) waiter.resolve(message.result);
      else waiter.reject(new Error(`generator ${index}: ${message.error}`));
    });
    this.child.on('exit', (code) => {
      for (const waiter of this.pending.values()) waiter.reject(new Error(`generator ${index} exited (${code})`));
      this.pending.clear();
    });
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  call<T>(request: Request): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.child.send({ id, request });
    });
  }

  async exit(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.call({ op: 'exit' }).catch(() => undefined);
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3000))]);
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

export class GeneratorPool {
  readonly generators: Generator[];

  constructor(size: number) {
    this.generators = Array.from({ length: size }, (_, i) => new Generator(i));
  }

  get size(): number {
    return this.generators.length;
  }

  /** The same request to every generator. */
  all<T>(request: Request | ((index: number) => Request)): Promise<T[]> {
    return Promise.all(this.generators.map((g, i) => g.call<T>(typeof request === 'function' ? request(i) : request)));
  }

  async exit(): Promise<void> {
    await Promise.all(this.generators.map((g) => g.exit()));
  }
}

/** Items i with i % size === index: each generator always gets the same accounts (warm SCRAM cache). */
export function slice<T>(items: T[], index: number, size: number): T[] {
  return items.filter((_, i) => i % size === index);
}
