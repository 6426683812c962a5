/**
 * `npm run build`: bundles each entry with esbuild into dist/<bundle>/ (ESM, Node 22, minified,
 * source maps, metafile). The images copy only these folders: the command image
 * dist/command/, the query image dist/query/ and dist/projector/ (its two functions).
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import type { BuildOptions, Metafile, Plugin } from 'esbuild';

/** Every bundle the build makes, by its entry. */
export const bundles = {
  command: { entry: 'src/entry/command.main.ts' },
  query: { entry: 'src/entry/query.main.ts' },
  projector: { entry: 'src/entry/projector.main.ts' },
} as const;
export type Bundle = keyof typeof bundles;

/** The deployed services (one image each) and the bundles each image ships. */
export const services = {
  command: { entry: bundles.command.entry, bundles: ['command'] },
  query: { entry: bundles.query.entry, bundles: ['query', 'projector'] },
} as const satisfies Record<string, { entry: string; bundles: readonly Bundle[] }>;
export type Service = keyof typeof services;

// Local-mode stores are imported lazily behind a DATABASE_URL check; the images never load them.
const localOnly = ['@electric-sql/pglite', 'kysely-pglite-dialect', 'pg-native'];

/**
 * hapi resolves content types through mime-db: 147 KB for some 2,500 types, of which a JSON API
 * answers and accepts a handful. The bundle gets those entries, copied from the real database.
 */
export const servedMimeTypes = [
  'application/json',
  'application/octet-stream',
  'application/x-www-form-urlencoded',
  'multipart/form-data',
  'text/html',
  'text/plain',
];

const trimMimeDb: Plugin = {
  name: 'trim-mime-db',
  setup(build) {
    build.onResolve({ filter: /^mime-db(\/db\.json)?$/ }, () => ({ path: 'mime-db', namespace: 'trimmed-mime-db' }));
    build.onLoad({ filter: /.*/, namespace: 'trimmed-mime-db' }, async () => {
      const db = JSON.parse(await readFile(join(build.initialOptions.absWorkingDir ?? '.', 'node_modules/mime-db/db.json'), 'utf8')) as Record<string, unknown>;
      const kept = Object.fromEntries(servedMimeTypes.map((type) => [type, db[type]]));
      return { contents: JSON.stringify(kept), loader: 'json' };
    });
  },
};

/**
 * Node built-ins reach the bundle through `require`, never through an ES `import`. Under Node 22 an
 * ES import of a built-in builds its module namespace by reading every export, which runs the lazy
 * getters behind them: `node:http`'s load Node's internal undici (for `http.WebSocket`), and so on.
 * The packages bundled from their ES modules (the AWS SDK, jose) import built-ins that way; routed
 * through `require` (esbuild's interop reads a property only when the code uses it), a cold start
 * of the command bundle spends about 25 ms less CPU and the query bundle's about 60 ms less
 * (BENCHMARKS.md).
 */
/** The namespace of the modules `builtinsThroughRequire` makes (esbuild's metafile names them `builtin-through-require:http`, …). */
export const builtinNamespace = 'builtin-through-require';

export const builtinsThroughRequire: Plugin = {
  name: 'builtins-through-require',
  setup(build) {
    build.onResolve({ filter: /^(node:)?[a-z_]+(\/[a-z_]+)?$/ }, (args) => {
      if ((args.kind !== 'import-statement' && args.kind !== 'dynamic-import') || !isBuiltin(args.path)) return undefined;
      return { path: args.path.replace(/^node:/, ''), namespace: builtinNamespace };
    });
    build.onLoad({ filter: /.*/, namespace: builtinNamespace }, (args) => ({ contents: `module.exports = require('node:${args.path}');`, loader: 'js' }));
  },
};

export interface BuiltBundle {
  readonly bundle: Bundle;
  readonly bytes: number;
  readonly metafile: Metafile;
}

/** The esbuild options of a bundle; `npm run affected` bundles with the same. */
export function bundleOptions(bundle: Bundle, outdir: string, root = process.cwd()): BuildOptions {
  return {
    absWorkingDir: resolve(root),
    entryPoints: { index: bundles[bundle].entry },
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    // What a service loads on first use (the AWS SDK clients: `lazyDynamoDbEventStore`, the
    // Secrets Manager reader) goes into chunks of its own, evaluated only when first needed.
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    minify: true,
    sourcemap: true,
    metafile: true,
    legalComments: 'none',
    external: localOnly,
    // Prefer packages' ES modules: they let esbuild drop what is never imported.
    mainFields: ['module', 'main'],
    plugins: [trimMimeDb, builtinsThroughRequire],
    // CommonJS dependencies bundled into ESM still call require() for Node built-ins.
    banner: { js: "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);" },
    logLevel: 'warning',
  };
}

export async function buildBundle(bundle: Bundle, outRoot = 'dist'): Promise<BuiltBundle> {
  const outdir = resolve(outRoot, bundle);
  await rm(outdir, { recursive: true, force: true });
  await mkdir(outdir, { recursive: true });
  const result = await build({ ...bundleOptions(bundle, outdir), metafile: true });
  await writeFile(join(outdir, 'meta.json'), JSON.stringify(result.metafile));
  return { bundle, bytes: bundleBytes(result.metafile), metafile: result.metafile };
}

/** What a bundle weighs: its entry and every chunk it may load, the source maps and metafile left out. */
export function bundleBytes(metafile: Metafile): number {
  return Object.entries(metafile.outputs)
    .filter(([name]) => name.endsWith('.mjs'))
    .reduce((sum, [, output]) => sum + output.bytes, 0);
}

async function main() {
  const which = process.argv[2];
  if (which !== undefined && !(which in bundles)) throw new Error(`unknown bundle ${which} (known: ${Object.keys(bundles).join(', ')})`);
  const list = which ? [which as Bundle] : (Object.keys(bundles) as Bundle[]);
  const started = performance.now();
  const built = await Promise.all(list.map((bundle) => buildBundle(bundle)));
  for (const { bundle, bytes } of built) console.log(`dist/${bundle}/index.mjs  ${(bytes / 1024).toFixed(0)} KB`);
  console.log(`built ${built.length} bundle(s) in ${((performance.now() - started) / 1000).toFixed(2)} s`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
