// What the core's parts (router, local sessions) need of the host they serve, without naming the
// Host class: Host implements it, so host.ts imports them and they never import host.ts.
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { StateBackend } from '../state/backend.js';
import type { NodeBus, PushedState } from '../state/bus.js';
import type { Telemetry } from '../telemetry.js';
import type { HookCatalogue } from './events.js';
import type { HookBus } from './hooks.js';
import type { PushSource } from './state-push.js';

export interface CoreServices {
  readonly config: Config;
  readonly state: StateBackend;
  readonly log: Logger;
  readonly hooks: HookBus<HookCatalogue>;
  readonly telemetry: Telemetry;
  /** Undefined on a node without other nodes (the embedded store). */
  readonly bus: NodeBus | undefined;
  readonly pushSources: ReadonlyMap<PushedState, PushSource>;
  readonly domain: string;
  readonly nodeId: string;
}
