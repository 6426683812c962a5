/**
 * `npm run affected [-- <service>…] [-c key=value…] [--parameters <file>] [--deployed <file>] [--record] [--json] [--build] [--check-dist]`
 *
 * Fingerprints each service from exactly what ships in it and how it is deployed:
 * - its image: the source files its bundles are made of (esbuild metafile; the query image
 *   holds the query and projector bundles), the minified bundles, the lockfile entries of the
 *   packages bundled, its Dockerfile and .dockerignore, the bundling configuration;
 * - its deployment: the service stack's synthesized template, with the image tag replaced by a
 *   placeholder (the tag is the fingerprint), so context, settings, stack code and aws-cdk-lib
 *   upgrades count; the aws-cdk-lib and constructs versions; and, with `--parameters`, the
 *   values of the SSM parameters the template reads at deploy time.
 * It needs no git history (CodePipeline has none) and depends only on content and
 * repository-relative paths, so the same tree gives the same fingerprint on any machine.
 *
 * `--parameters <file>`: SSM parameters as `aws ssm get-parameters-by-path --path /cqrs-es/
 * --recursive --query Parameters` prints them ([{Name, Value}]). The settings among them
 * (`/cqrs-es/settings/<key>`) become context; `-c key=value` wins over both.
 * `--deployed <file>`: the last deployed fingerprints ({"<service>": "<fingerprint>"}).
 * `--build`: first bundle the services' image bundles into `dist/` (as `npm run build` does).
 * `--check-dist`: fail unless `dist/` holds exactly the bundles fingerprinted (an image is built
 * from `dist/`, and tagged with the fingerprint).
 * Prints a line per service to stderr and a JSON report to stdout: per service its fingerprint,
 * the deployed one, whether they differ, the fingerprint of its deployment part alone (`stack`),
 * the sha256 of each bundle and the settings it was fingerprinted with.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { App } from 'aws-cdk-lib';
import { FAIL_SYNTH_ON_VALIDATION_ERRORS_CONTEXT } from 'aws-cdk-lib/cx-api';
import { build, context } from 'esbuild';
import type { BuildContext } from 'esbuild';
import type { buildApp } from '../../infra/lib/build-app.ts';
import { parameters as parameterNames, services as serviceNames } from '../../infra/lib/names.ts';
import type { ServiceName } from '../../infra/lib/names.ts';
import { projectContext } from '../../infra/lib/project-context.ts';
import { imageBundles } from '../../infra/lib/service-image.ts';
import { serviceSettingKeys } from '../../infra/lib/settings.ts';
import { buildBundle, builtinNamespace, bundleOptions, bundles } from '../../scripts/build.ts';
import type { Bundle } from '../../scripts/build.ts';

export type Service = ServiceName;

export interface Fingerprint {
  readonly service: Service;
  readonly fingerprint: string;
  /** What went into it, one line each (`path sha256`, `package@version integrity`, `template sha256`, …). */
  readonly parts: readonly string[];
  /** The settings the template was synthesized with (pass them to `cdk deploy` as `-c`). */
  readonly settings: Readonly<Record<string, string>>;
  /** The sha256 of each bundle the image ships, as fingerprinted (`dist/<bundle>/index.mjs`). */
  readonly bundles: Readonly<Record<string, string>>;
  /**
   * The deployment part alone: the template (image tag replaced) and the deploy-time values it
   * resolves. While it stays the same, a deploy only swaps the functions' image.
   */
  readonly stack: string;
}

export interface FingerprintOptions {
  /** Context on top of cdk.json and cdk.context.json (`-c key=value`). */
  readonly context?: Readonly<Record<string, string>>;
  /** SSM parameters (Name → Value): settings, and the values the template resolves at deploy time. */
  readonly parameters?: Readonly<Record<string, string>>;
}

/** Replaces the image tag in the fingerprinted template: the tag is the fingerprint itself. */
export const imageTagPlaceholder = 'IMAGE-TAG-IS-THE-FINGERPRINT';

const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');
const posix = (path: string) => path.split(sep).join('/');

/** node_modules/a/node_modules/@b/c/lib/x.js → node_modules/a/node_modules/@b/c */
function packageDir(input: string): string | undefined {
  const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
  if (!match) return undefined;
  // a path outside the tree (a symlinked node_modules) still names the package the same way
  return match[1]!.slice(match[1]!.indexOf('node_modules/'));
}

/**
 * The same options as `npm run build` (symlinks kept as found, the outdir at the depth of
 * dist/<bundle>, since chunk names hash paths), so the entry fingerprinted is the one built.
 *
 * One esbuild context per tree and bundle, kept for the life of the process: a rebuild re-reads
 * every file and re-parses only those whose content changed, so a process that fingerprints many
 * times (the tests) bundles fast, with the same output as a fresh build. Rebuilds of one context
 * run one at a time.
 */
const bundlers = new Map<string, { context: Promise<BuildContext>; last: Promise<unknown> }>();

/** Stops the bundlers `fingerprintService` keeps (call once a process is done fingerprinting). */
export async function disposeBundlers(): Promise<void> {
  const all = [...bundlers.values()];
  bundlers.clear();
  await Promise.all(all.map(async ({ context, last }) => {
    await last.catch(() => undefined);
    await (await context).dispose();
  }));
}

async function bundle(root: string, name: Bundle) {
  const key = `${root}\0${name}`;
  let bundler = bundlers.get(key);
  if (!bundler) {
    bundler = { context: context({ ...bundleOptions(name, join(root, '.affected-out', name), root), write: false, metafile: true, logLevel: 'silent' }), last: Promise.resolve() };
    bundlers.set(key, bundler);
  }
  const { context: pending } = bundler;
  const rebuilt = bundler.last.catch(() => undefined).then(async () => (await pending).rebuild());
  bundler.last = rebuilt;
  const { metafile, outputFiles } = await rebuilt;
  if (!metafile || !outputFiles) throw new Error(`bundling ${name} gave no metafile or output`);
  // The entry first (dist/<bundle>/index.mjs, what --check-dist compares), then its chunks by path.
  const code = outputFiles.filter((file) => /\.m?js$/.test(file.path)).sort((a, b) => a.path.localeCompare(b.path));
  const entry = code.findIndex((file) => /[\\/]index\.mjs$/.test(file.path));
  if (entry < 0) throw new Error(`bundling ${name} gave no index.mjs`);
  return {
    inputs: Object.keys(metafile.inputs),
    code: [code[entry]!, ...code.filter((_, i) => i !== entry)].map((file) => file.contents),
  };
}

/** The settings from SSM parameters (`/cqrs-es/settings/<key>`), overridden by explicit context. */
export function deployContext(options: FingerprintOptions): Record<string, string> {
  const fromParameters = Object.fromEntries(
    Object.entries(options.parameters ?? {})
      .filter(([name]) => name.startsWith(parameterNames.settingsPath))
      .map(([name, value]) => [name.slice(parameterNames.settingsPath.length), value]),
  );
  return { ...fromParameters, ...(options.context ?? {}) };
}

/**
 * The service stack's template as it deploys, image tag replaced, and the SSM parameters it
 * resolves at deploy time. Fails with the stack's own one-line error when settings are missing.
 */
export async function deployedTemplate(root: string, service: Service, context: Record<string, string>) {
  const outdir = await mkdtemp(join(tmpdir(), 'cqrs-affected-'));
  try {
    const { App, buildApp } = await loadApp(root, outdir);
    const app = new App({
      outdir,
      analyticsReporting: false,
      context: {
        ...projectContext(root, context),
        [`${service}ImageTag`]: imageTagPlaceholder,
        // report the stack's own settings error below, as one line
        [FAIL_SYNTH_ON_VALIDATION_ERRORS_CONTEXT]: false,
      },
    });
    const stack = buildApp(app, service)[service];
    const errors = stack.node.metadata.filter((entry) => entry.type === 'aws:cdk:error').map((entry) => String(entry.data));
    if (errors.length > 0) throw new Error(errors.join('\n'));
    const template = app.synth().getStackByName(stack.stackName).template as { Parameters?: Record<string, { Type: string; Default?: string }> };
    const ssm = Object.values(template.Parameters ?? {})
      .filter((parameter) => parameter.Type.startsWith('AWS::SSM::Parameter::Value') && parameter.Default)
      .map((parameter) => parameter.Default!)
      .sort();
    return { json: JSON.stringify(template), ssm };
  } finally {
    await rm(outdir, { recursive: true, force: true });
  }
}

/**
 * The stack code of the tree at `root` (not of this script's own tree): bundled fresh, packages
 * left to `root`'s node_modules, so a change to it is seen within one process too.
 */
async function loadApp(root: string, outdir: string): Promise<{ App: typeof App; buildApp: typeof buildApp }> {
  const file = join(outdir, 'build-app.mjs');
  await build({
    absWorkingDir: root,
    // App from the same aws-cdk-lib the stack code uses, wherever that is installed
    stdin: { contents: "export { buildApp } from './infra/lib/build-app.ts'; export { App } from 'aws-cdk-lib';", resolveDir: root, loader: 'ts' },
    outfile: file,
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    // the bundle lives elsewhere; paths the stack code derives from its own location stay in root
    define: { 'import.meta.dirname': JSON.stringify(join(root, 'infra', 'lib')) },
    logLevel: 'silent',
  });
  // packages resolve from root, as they would for the stack code in place
  await symlink(join(root, 'node_modules'), join(outdir, 'node_modules'));
  return (await import(pathToFileURL(file).href)) as { App: typeof App; buildApp: typeof buildApp };
}

export async function fingerprintService(service: Service, rootDir = process.cwd(), options: FingerprintOptions = {}): Promise<Fingerprint> {
  const root = resolve(rootDir);
  const lock = JSON.parse(await readFile(join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { version?: string; integrity?: string }>;
  };
  // Every bundle the image ships (the query image also carries the projector). A bundle the build
  // does not know is an error, never a silent omission: a missed input means a change never ships.
  const built = imageBundles[service].map((name) => {
    if (!Object.hasOwn(bundles, name)) throw new Error(`the ${service} image ships ${name}, which scripts/build.ts does not build`);
    return name as Bundle;
  });
  const bundled = await Promise.all(built.map((name) => bundle(root, name)));
  const files = new Set<string>([`Dockerfile.${service}`, '.dockerignore', 'scripts/build.ts']);
  const packages = new Set<string>(['node_modules/aws-cdk-lib', 'node_modules/constructs']);
  for (const input of bundled.flatMap((b) => b.inputs)) {
    const namespaced = /^([a-z-]+):(.*)$/.exec(input);
    // a Node built-in routed through require: the image's Node version (its Dockerfile) names it
    if (namespaced?.[1] === 'builtin-through-require') continue;
    if (namespaced) {
      // a Node built-in reached through require: part of the runtime, not of node_modules
      if (input.startsWith(`${builtinNamespace}:`)) continue;
      // a virtual module made from a package (the trimmed mime-db): that package counts
      packages.add(`node_modules/${namespaced[2]!}`);
      continue;
    }
    const pkg = packageDir(input);
    if (pkg) packages.add(pkg);
    else files.add(posix(input));
  }
  // Every file in a bundle's import graph counts, even where tree shaking drops its code (a
  // conservative choice: a false "changed" costs a deploy, a false "unchanged" ships stale code);
  // the minified bundles themselves are hashed too, which catches what only import wiring changes.
  const bundleHashes = Object.fromEntries(bundled.map((b, i) => [built[i]!, sha256(b.code[0]!)]));
  const parts: string[] = bundled.flatMap((b, i) => b.code.map((contents) => `bundle ${built[i]} ${sha256(contents)}`));
  for (const file of [...files].sort()) parts.push(`${file} ${sha256(await readFile(join(root, file)))}`);
  for (const pkg of [...packages].sort()) {
    const entry = lock.packages[pkg];
    if (!entry) throw new Error(`${pkg} is bundled into ${service} but missing from package-lock.json`);
    parts.push(`${pkg}@${entry.version ?? '?'} ${entry.integrity ?? ''}`);
  }
  const context = deployContext(options);
  const template = await deployedTemplate(root, service, context);
  const deployment = [`template ${sha256(template.json)}`];
  // Ids of shared resources (the API, subnets, the stream, the database secret) are resolved at
  // deploy time: a new value must redeploy the service even though its template is the same.
  for (const name of template.ssm) deployment.push(`ssm ${name} ${options.parameters ? JSON.stringify(options.parameters[name] ?? null) : '(not looked up)'}`);
  parts.push(...deployment);
  const settings = Object.fromEntries(serviceSettingKeys.filter((key) => context[key] !== undefined).map((key) => [key, context[key]!]));
  const digest = (lines: readonly string[]) => sha256(lines.join('\n')).slice(0, 24);
  return { service, fingerprint: digest(parts), parts, settings, bundles: bundleHashes, stack: digest(deployment) };
}

/**
 * Checks that `dist/` holds exactly the bundles a fingerprint was computed from, so that an image
 * built from it is what its tag (the fingerprint) names. Throws, naming the first bundle that
 * differs or is missing.
 */
export async function checkDist(root: string, fingerprint: Fingerprint): Promise<void> {
  for (const [name, expected] of Object.entries(fingerprint.bundles)) {
    const file = `dist/${name}/index.mjs`;
    const found = await readFile(join(root, file)).then(sha256, (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (found === undefined) throw new Error(`${file} is missing: run npm run build`);
    if (found !== expected) throw new Error(`${file} is not the ${name} bundle of fingerprint ${fingerprint.fingerprint} (a stale build?): run npm run build`);
  }
}

export type Deployed = Partial<Record<Service, string>>;

async function readJson<T>(file: string, absent: T): Promise<T> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return absent;
    throw new Error(`cannot read ${file}: ${(error as Error).message}`, { cause: error });
  }
}

/** Parses the command line: services, `-c key=value`, `--parameters`, `--deployed`, flags. */
export function parseArgs(args: readonly string[]) {
  const wanted: string[] = [];
  const context: Record<string, string> = {};
  const options: Record<string, string> = {};
  const flags = new Set<string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '-c' || arg === '--context') {
      const pair = args[++i] ?? '';
      const at = pair.indexOf('=');
      if (at <= 0) throw new Error(`${arg} needs key=value, got "${pair}"`);
      context[pair.slice(0, at)] = pair.slice(at + 1);
    } else if (arg === '--parameters' || arg === '--deployed') {
      const value = args[++i];
      if (!value) throw new Error(`${arg} needs a file`);
      options[arg.slice(2)] = value;
    } else if (arg.startsWith('--')) flags.add(arg);
    else wanted.push(arg);
  }
  for (const name of wanted) if (!(serviceNames as readonly string[]).includes(name)) throw new Error(`unknown service ${name} (known: ${serviceNames.join(', ')})`);
  const list = (wanted.length > 0 ? wanted : [...serviceNames]) as Service[];
  return { list, context, parameters: options.parameters, deployed: options.deployed ?? '.deployed-fingerprints.json', flags };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const deployed = await readJson<Deployed>(args.deployed, {});
  const listed = args.parameters ? await readJson<{ Name: string; Value: string }[]>(args.parameters, []) : undefined;
  const parameters = listed ? Object.fromEntries(listed.map((p) => [p.Name, p.Value])) : undefined;
  if (args.flags.has('--build')) {
    // The image's bundles into dist/ (what the Dockerfile copies), from this tree, before the
    // fingerprint that will tag the image.
    for (const bundle of new Set(args.list.flatMap((service) => imageBundles[service]))) {
      const { bytes } = await buildBundle(bundle as Bundle);
      process.stderr.write(`built dist/${bundle}/index.mjs (${(bytes / 1024).toFixed(0)} KB)\n`);
    }
  }
  const results = [];
  // one at a time: each bundles and synthesizes, and CI machines are small
  for (const service of args.list) results.push(await fingerprintService(service, process.cwd(), { context: args.context, ...(parameters ? { parameters } : {}) }));
  if (args.flags.has('--check-dist')) for (const result of results) await checkDist(process.cwd(), result);
  const report = Object.fromEntries(
    results.map(({ service, fingerprint, settings, stack, bundles }) => [
      service,
      { fingerprint, deployed: deployed[service] ?? null, changed: deployed[service] !== fingerprint, stack, bundles, settings },
    ]),
  );
  if (!args.flags.has('--json')) {
    for (const [service, { fingerprint, deployed: before, changed }] of Object.entries(report)) {
      process.stderr.write(`${service.padEnd(8)} ${changed ? 'changed  ' : 'unchanged'} ${fingerprint}${changed ? ` (deployed: ${before ?? 'none'})` : ''}\n`);
    }
  }
  if (args.flags.has('--record')) {
    const next = { ...deployed, ...Object.fromEntries(results.map((r) => [r.service, r.fingerprint])) };
    await writeFile(args.deployed, `${JSON.stringify(next, null, 2)}\n`);
    if (!args.flags.has('--json')) process.stderr.write(`recorded in ${relative(process.cwd(), resolve(args.deployed))}\n`);
  }
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main()
    .finally(disposeBundlers)
    .catch((error: unknown) => {
      process.stderr.write(`affected: ${(error as Error).message}\n`);
      process.exit(1);
    });
}
