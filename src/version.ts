// The version of this release, as package.json gives it (`rookery --version`, the start log line,
// XEP-0092). Searched upwards from this file, so the sources and the compiled dist/ both find it.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 6; depth++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'rookery' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not here; keep climbing
    }
    dir = dirname(dir);
  }
  return 'unknown';
}

export const VERSION: string = findVersion();
