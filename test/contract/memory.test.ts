// The in-process backend against every contract.
import { describe } from 'vitest';
import { createMemoryBackend } from '../../src/state/memory/index.js';
import { allContracts } from './all.js';

describe('memory backend', () => {
  // Each call is a separate in-process state, so each describe block gets its own.
  allContracts(async () => createMemoryBackend());
});
