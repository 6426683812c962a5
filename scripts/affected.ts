/**
 * `npm run affected [-- <service>…] [--deployed <file>] [--record] [--json]`
 *
 * Fingerprints each service from exactly what ships in it (SPEC §7): the source files its bundle
 * is made of (esbuild metafile), the lockfile entries of the packages bundled, its Dockerfile and
 * .dockerignore, the bundling configuration, and its stack's source. It needs no git history
 * (CodePipeline has none) and depends only on content and repository-relative paths, so the same
 * tree gives the same fingerprint on any machine. Compares with the last deployed fingerprints
 * (a JSON file; the pipeline fills it from SSM) and prints a line per service plus JSON.
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { build } from 'esbuild';
import { bundleOptions, services } from './build.ts';
import type { Service } from './build.ts';

export interface Fingerprint {
  readonly service: Service;
  readonly fingerprint: string;
  /** What went into it, one line each (`path sha256` or `package@version integrity`). */
  readonly parts: readonly string[];
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const posix = (path: string) => path.split(sep).join('/');

/** node_modules/a/node_modules/@b/c/lib/x.js → node_modules/a/node_modules/@b/c */
function packageDir(input: string): string | undefined {
  const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
  if (!match) return undefined;
  // a path outside the tree (a symlinked node_modules) still names the package the same way
  return match[1]!.slice(match[1]!.indexOf('node_modules/'));
}

async function bundle(root: string, options: Parameters<typeof build>[0]) {
  const result = await build({ ...options, absWorkingDir: root, write: false, metafile: true, logLevel: 'silent' });
  return {
    inputs: Object.keys(result.metafile!.inputs),
    code: result.outputFiles!.filter((file) => /\.m?js$/.test(file.path)).map((file) => file.contents),
  };
}

export async function fingerprintService(service: Service, rootDir = process.cwd()): Promise<Fingerprint> {
  const root = resolve(rootDir);
  const lock = JSON.parse(await readFile(join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { version?: string; integrity?: string }>;
  };
  // Every bundle the service's image ships (the query image: query API and projector).
  const built = await Promise.all(services[service].bundles.map((name) => bundle(root, bundleOptions(name, join(root, '.affected-out', name), root))));
  const bundleInputs = built.flatMap((b) => b.inputs);
  const code = built.flatMap((b) => b.code);
  const { inputs: stackInputs } = await bundle(root, {
    entryPoints: [`infra/lib/${service}-stack.ts`],
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    outdir: join(root, '.affected-out'),
  });
  const files = new Set<string>([`Dockerfile.${service}`, '.dockerignore', 'scripts/build.ts', ...stackInputs]);
  const packages = new Set<string>();
  for (const input of bundleInputs) {
    const namespaced = /^[a-z-]+:(.*)$/.exec(input);
    if (namespaced) {
      // a virtual module made from a package (the trimmed mime-db): that package counts
      packages.add(`node_modules/${namespaced[1]!}`);
      continue;
    }
    const pkg = packageDir(input);
    if (pkg) packages.add(pkg);
    else files.add(posix(input));
  }
  // Every file in the bundle's import graph counts, even where tree shaking drops its code (a
  // conservative choice: a false "changed" costs a deploy, a false "unchanged" ships stale code);
  // the minified bundle itself is hashed too, which catches what only import wiring changes.
  const parts: string[] = code.map((contents) => `bundle ${sha256(Buffer.from(contents))}`);
  for (const file of [...files].sort()) parts.push(`${file} ${sha256(await readFile(join(root, file)))}`);
  for (const pkg of [...packages].sort()) {
    const entry = lock.packages[pkg];
    if (!entry) throw new Error(`${pkg} is bundled into ${service} but missing from package-lock.json`);
    parts.push(`${pkg}@${entry.version ?? '?'} ${entry.integrity ?? ''}`);
  }
  return { service, fingerprint: sha256(parts.join('\n')).slice(0, 24), parts };
}

export type Deployed = Partial<Record<Service, string>>;

async function readDeployed(file: string): Promise<Deployed> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Deployed;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new Error(`cannot read ${file}: ${(error as Error).message}`, { cause: error });
  }
}

async function main() {
  const args = process.argv.slice(2);
  const flag = (name: string) => args.includes(name);
  const option = (name: string) => {
    const index = args.indexOf(name);
    return index >= 0 ? args[index + 1] : undefined;
  };
  const deployedFile = option('--deployed') ?? '.deployed-fingerprints.json';
  const wanted = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--deployed');
  for (const name of wanted) if (!(name in services)) throw new Error(`unknown service ${name} (known: ${Object.keys(services).join(', ')})`);
  const list = (wanted.length > 0 ? wanted : Object.keys(services)) as Service[];

  const deployed = await readDeployed(deployedFile);
  const results = await Promise.all(list.map((service) => fingerprintService(service)));
  const report = Object.fromEntries(
    results.map(({ service, fingerprint }) => [
      service,
      { fingerprint, deployed: deployed[service] ?? null, changed: deployed[service] !== fingerprint },
    ]),
  );
  if (!flag('--json')) {
    for (const [service, { fingerprint, deployed: before, changed }] of Object.entries(report)) {
      process.stderr.write(
        `${service.padEnd(8)} ${changed ? 'changed  ' : 'unchanged'} ${fingerprint}${changed ? ` (deployed: ${before ?? 'none'})` : ''}\n`,
      );
    }
  }
  if (flag('--record')) {
    const next = { ...deployed, ...Object.fromEntries(results.map((r) => [r.service, r.fingerprint])) };
    await writeFile(deployedFile, `${JSON.stringify(next, null, 2)}\n`);
    if (!flag('--json')) process.stderr.write(`recorded in ${relative(process.cwd(), resolve(deployedFile))}\n`);
  }
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    process.stderr.write(`affected: ${(error as Error).message}\n`);
    process.exit(1);
  });
}
