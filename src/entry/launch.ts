import { chmod, readdir } from 'node:fs/promises';
import * as nodeModule from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The argument of the images' build-time `RUN`: fill the compile cache, start nothing. */
export const prepareCompileCache = '--prepare-compile-cache';

/** A deployed service, loaded but not started. */
export interface Service {
  start(): Promise<void>;
}

/** Node 22's compile cache API (`node:module`); absent under Node 20, where nothing is cached. */
interface CompileCache {
  enableCompileCache?: (directory: string) => { status: number; message?: string };
  flushCompileCache?: () => void;
}

export interface LaunchOptions {
  /** The bundle's folder (file URL of its index.mjs's folder); the cache is `compile-cache/` in it. */
  readonly bundleDir: URL;
  readonly argv?: readonly string[];
}

/**
 * How each bundle starts (its index.mjs): Node's compile cache is turned on for the bundle's
 * folder, then the service is loaded, from a chunk of its own, and started. V8 then reads the
 * code it compiled for the service instead of parsing it again: the image's build-time
 * `RUN ["node", "/app/<bundle>/index.mjs", "--prepare-compile-cache"]` (the image's own
 * node on the copied bundle) fills the cache for that exact binary, loading the service and every
 * chunk it may load later (the AWS SDK clients) without starting anything. In Lambda the folder
 * is read-only: the cache is read, never written. Without a cache (or under Node 20) the service
 * starts as it would anyway.
 */
export async function launch(load: () => Promise<Service>, options: LaunchOptions): Promise<void> {
  const argv = options.argv ?? process.argv;
  const cacheDir = fileURLToPath(new URL('compile-cache/', options.bundleDir));
  const cache = nodeModule as CompileCache;
  cache.enableCompileCache?.(cacheDir);
  const service = await load();
  if (!argv.includes(prepareCompileCache)) {
    await service.start();
    return;
  }
  const chunksDir = fileURLToPath(new URL('chunks/', options.bundleDir));
  const chunks = await readdir(chunksDir).catch(() => [] as string[]);
  for (const chunk of chunks.filter((name) => name.endsWith('.mjs')).sort()) await import(pathToFileURL(join(chunksDir, chunk)).href);
  cache.flushCompileCache?.();
  // Written by the build's user (root), read by the function's: readable by all, writable by none.
  await readableByAll(cacheDir);
}

async function readableByAll(dir: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => undefined);
  if (entries === undefined) return;
  await chmod(dir, 0o755);
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await readableByAll(path);
    else await chmod(path, 0o644);
  }
}
