// Whether dist/ was built from the sources as they are now: the build's stamp is newer than every
// file under src/, cluster/ and metrics/ and the build settings. A tree without sources (the
// container image ships dist/ alone) is up to date by definition.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const SOURCES = ['src', 'cluster', 'metrics'];

export function stampPath(root) {
  return join(root, 'dist', '.built');
}

export function builtUpToDate(root) {
  const stamp = stampPath(root);
  if (!existsSync(stamp)) return false;
  if (!existsSync(join(root, 'src'))) return true;
  const built = statSync(stamp).mtimeMs;
  const newer = (path) => existsSync(path) && statSync(path).mtimeMs > built;
  if (newer(join(root, 'tsconfig.json')) || newer(join(root, 'tsconfig.build.json'))) return false;
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory() ? !walk(path) : statSync(path).mtimeMs > built) return false;
    }
    return true;
  };
  return SOURCES.every((folder) => !existsSync(join(root, folder)) || walk(join(root, folder)));
}
