// The feature modules every node loads, in load order.
import type { Config } from '../config.js';
import type { Module } from '../core/module.js';
import { iqRoutingModule } from './iq-routing.js';
import { messageModule } from './message.js';
import { offlineModule } from './offline.js';
import { presenceModule } from './presence/index.js';
import { rosterModule } from './roster/index.js';

export function defaultModules(config: Config): Module[] {
  void config;
  return [iqRoutingModule, messageModule, offlineModule, rosterModule, presenceModule];
}
