// Configuration: defaults, then a YAML file, then ROOKERY_* environment variables, validated by
// one schema (src/config/schema.ts). This module is the stable import path for the rest of the code.
export { type Config, DEFAULT_LIMITS, defaultConfig, type Limits, limitEnvName, mucDomainsOf } from './config/schema.js';
export { type Env, loadConfig } from './config/load.js';
export { maskedConfig, renderConfig } from './config/describe.js';
