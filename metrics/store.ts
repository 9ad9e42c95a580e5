// Times every state store call without the store knowing, as MongooseIM's backend wrapper does
// (esl/MongooseIM:src/mongoose_backend.erl): each port of the StateBackend is seen through a
// proxy that observes rookery_store_call_duration_seconds{port,method} when the call settles,
// and counts rookery_store_errors_total{port,method} when it fails.
//
// Methods run on the port itself (`this` is preserved); optional methods stay optional
// (`invalidate?.()` still finds nothing where there is nothing). A method returning an async
// iterable (`list`, `all`, `byNode`) is not timed — its cost is spread over the iteration — but
// an iteration that fails counts as an error of that method. Synchronous results pass through.
import type { Registry } from 'prom-client';
import type { StateBackend } from '../src/state/backend.js';
import { catalogue, type Catalogue } from './catalogue.js';

type Method = (...args: unknown[]) => unknown;

/**
 * The `port` label of a port whose property was renamed: label values are what dashboards and
 * alerts query, so they keep the names they were published under.
 */
const PORT_LABELS: Readonly<Record<string, string>> = { registry: 'sessions', resumption: 'streams' };

/**
 * The backend with every port instrumented. A port is any object-valued property (accounts,
 * rosters, registry, offline, blocklists, resumption…), so a port added later is timed too.
 */
export function instrumentBackend(state: StateBackend, registry: Registry): StateBackend {
  const metrics = catalogue(registry);
  const ports = new Map<string, { original: object; instrumented: object }>();
  return new Proxy(state, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value === 'function') return (value as Method).bind(target);
      if (typeof property !== 'string' || typeof value !== 'object' || value === null) return value;
      const cached = ports.get(property);
      if (cached?.original === value) return cached.instrumented;
      const instrumented = instrumentPort(value, PORT_LABELS[property] ?? property, metrics);
      ports.set(property, { original: value, instrumented });
      return instrumented;
    },
  });
}

function instrumentPort<T extends object>(port: T, portName: string, metrics: Catalogue): T {
  const wrappers = new Map<string, { original: Method; wrapper: Method }>();
  return new Proxy(port, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      const original = value as Method;
      const cached = wrappers.get(property);
      if (cached?.original === original) return cached.wrapper;
      const wrapper = timed(target, original, { port: portName, method: property }, metrics);
      wrappers.set(property, { original, wrapper });
      return wrapper;
    },
  });
}

function timed(target: object, original: Method, labels: { port: string; method: string }, metrics: Catalogue): Method {
  const failed = (): void => metrics.storeErrors.inc(labels);
  // Bound once: an observation is then a bucket search, not a label hash (see tally.ts). No
  // closure is named per call (tsx's keepNames makes each named one cost a defineProperty).
  const series = metrics.storeCallDuration.seriesOf(labels);
  return (...args: unknown[]): unknown => {
    const start = performance.now();
    let result: unknown;
    try {
      result = original.apply(target, args);
    } catch (error) {
      series.observe(secondsSince(start));
      failed();
      throw error;
    }
    if (isThenable(result)) {
      return result.then(
        (value) => {
          series.observe(secondsSince(start));
          return value;
        },
        (error: unknown) => {
          series.observe(secondsSince(start));
          failed();
          throw error;
        },
      );
    }
    if (isAsyncIterable(result)) return countingFailures(result, failed);
    return result;
  };
}

function secondsSince(start: number): number {
  return (performance.now() - start) / 1000;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function';
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof (value as { [Symbol.asyncIterator]?: unknown } | null | undefined)?.[Symbol.asyncIterator] === 'function';
}

/** The same iterable (re-iterable if it was), counting a failed iteration. */
function countingFailures<T>(iterable: AsyncIterable<T>, failed: () => void): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator]() {
      return (async function* () {
        try {
          yield* iterable;
        } catch (error) {
          failed();
          throw error;
        }
      })();
    },
  };
}
