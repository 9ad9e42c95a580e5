// The command line as a few ES modules in dist/bundle/ (esbuild, from the compiled dist/src/):
// Node 20 spends most of a short command's time resolving and loading small module files (zod
// alone is ~120 ms of them). The server code is split into chunks loaded only by `start` and the
// Redis account commands. Packages that read files beside their own code (BullMQ's Lua, pino's
// workers, the native SQLite binding) stay in node_modules; our Lua scripts are copied next to
// the chunk that reads them (cluster/redis/scripts.ts reads ./scripts/ from its own file).
import { cpSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Small pure-JavaScript packages worth bundling; every other dependency stays external. */
const BUNDLED = new Set(['commander', 'zod', 'yaml', 'ltx', 'saxes']);

/**
 * zod re-exports its error messages in some 50 languages (`z.locales`, 700 KB of the bundle);
 * it configures English itself and we never switch, so only `en` is kept.
 */
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(build) {
    build.onResolve({ filter: /\/locales\/index\.js$/ }, (args) =>
      args.importer.includes(`${'node_modules'}/zod/`) ? { path: args.importer, namespace: 'zod-locales' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: "export { default as en } from '../locales/en.js';",
      resolveDir: dirname(args.path),
    }));
  },
};

export async function bundle(root) {
  const { build } = await import('esbuild');
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const external = Object.keys(manifest.dependencies ?? {}).filter((name) => !BUNDLED.has(name));
  const outdir = join(root, 'dist', 'bundle');
  rmSync(outdir, { recursive: true, force: true });
  await build({
    entryPoints: [join(root, 'dist', 'src', 'cli.js')],
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outdir,
    external,
    plugins: [zodEnglishOnly],
    // Whitespace and syntax only: names stay, so stack traces stay readable.
    minifyWhitespace: true,
    minifySyntax: true,
    sourcemap: true,
    logLevel: 'warning',
    // CommonJS packages inside the bundle (commander) call require() for Node's own modules.
    banner: { js: "import { createRequire as bundleRequire } from 'node:module'; const require = bundleRequire(import.meta.url);" },
  });
  mkdirSync(join(outdir, 'scripts'), { recursive: true });
  cpSync(join(root, 'cluster', 'redis', 'scripts'), join(outdir, 'scripts'), { recursive: true });
}
