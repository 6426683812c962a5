/**
 * What the benchmark starts: each bundle as its image starts it (the Dockerfile's ENTRYPOINT/CMD and
 * ENV, with the image's /app mapped onto the freshly built dist/), and the baseline bundles of
 * tools/bench/baselines/ started the same way.
 */
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { bundleBytes, bundleOptions } from '../../scripts/build.ts';
import type { Bundle as Service } from '../../scripts/build.ts';
import { parseDockerfile } from '../../src/testing/dockerfile.ts';
import type { Dockerfile } from '../../src/testing/dockerfile.ts';

/** The real request a fresh process answers first (docs/budgets.md, "cold first request"). */
export type FirstRequest = 'create-chat' | 'list-messages' | 'events';

export interface BundleSpec {
  /** A service of scripts/build.ts: its bundle is dist/<service>/. */
  readonly service: Service;
  /** The image that ships it. */
  readonly dockerfile: string;
  /** The function's CMD when it is not the image's (one image, several functions: Lambda's ImageConfig.Command). */
  readonly command?: readonly string[];
  /** The readiness route (AWS_LWA_READINESS_CHECK_PATH of its function). */
  readonly health: string;
  readonly firstRequest: FirstRequest;
  /** The bundle size budget (docs/budgets.md), minified. */
  readonly sizeBudgetBytes: number;
}

/**
 * The bundles the images run, measured one by one (cold start, first request, idle RSS, size).
 * A new bundle is one line here. The stream path (POST /events) is measured against whichever
 * bundle serves it: each is asked at the start of a run.
 */
export const bundles: readonly BundleSpec[] = [
  { service: 'command', dockerfile: 'Dockerfile.command', health: '/command/v1/healthcheck', firstRequest: 'create-chat', sizeBudgetBytes: 1_200_000 },
  { service: 'query', dockerfile: 'Dockerfile.query', health: '/query/healthcheck', firstRequest: 'list-messages', sizeBudgetBytes: 1_800_000 },
  // The projector function: the query image with its CMD overridden by the stack.
  { service: 'projector', dockerfile: 'Dockerfile.query', command: ['/app/projector/index.mjs'], health: '/projector/healthcheck', firstRequest: 'events', sizeBudgetBytes: 1_800_000 },
];

/** How a process is started: `node <args>` with this environment, in this folder. */
export interface Launch {
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
  /** Index in `args` of the script: a baseline replaces it and keeps every flag around it. */
  readonly scriptIndex: number;
}

/**
 * The command of `spec`'s function in its image, runnable here: ENTRYPOINT + (the function's
 * command or CMD), with every path under a folder the Dockerfile copies from dist/ mapped to the
 * same folder under `distRoot`.
 */
export async function imageLaunch(spec: BundleSpec, distRoot: string, root = process.cwd()): Promise<Launch> {
  const file = await parseDockerfile(resolve(root, spec.dockerfile));
  const argv = [...(file.entrypoint ?? []), ...(spec.command ?? file.cmd ?? [])];
  if (argv[0] !== 'node') throw new Error(`${spec.dockerfile}: the image does not start with node (${JSON.stringify(argv)})`);
  const local = localPaths(file, distRoot);
  const args = argv.slice(1).map((arg) => local(arg) ?? arg);
  const expected = resolve(distRoot, spec.service, 'index.mjs');
  const scriptIndex = args.indexOf(expected);
  if (scriptIndex < 0) {
    throw new Error(`${spec.dockerfile} runs ${JSON.stringify(argv)}, which is not dist/${spec.service}/index.mjs: give the bundle's command in tools/bench/images.ts`);
  }
  const workdir = [...file.instructions].reverse().find((i) => i.keyword === 'WORKDIR')?.args;
  return { args, env: { ...file.env }, cwd: (workdir && local(withSlash(workdir))) ?? join(distRoot, spec.service), scriptIndex };
}

/** Maps a path of the image under a folder the Dockerfile copies from dist/ to the same folder under `distRoot`. */
function localPaths(file: Dockerfile, distRoot: string): (path: string) => string | undefined {
  const mounts = file.copies
    .filter((copy) => copy.from === undefined && copy.sources.length === 1 && copy.sources[0]!.startsWith('dist/'))
    .map((copy) => ({ image: withSlash(copy.destination), local: withSlash(resolve(distRoot, copy.sources[0]!.slice('dist/'.length))) }))
    .sort((a, b) => b.image.length - a.image.length);
  return (path: string) => {
    const mount = mounts.find((m) => path.startsWith(m.image) || `${path}/` === m.image);
    return mount ? mount.local + path.slice(mount.image.length) : undefined;
  };
}

/**
 * The image build's RUN steps, runnable here as `node <args>` against `distRoot` (an image build
 * runs only the image's own node on the copied bundle: filling its compile cache). The bench runs
 * them with each Node it measures, as each image build would with its own.
 */
export async function imagePrepareSteps(dockerfile: string, distRoot: string, root = process.cwd()): Promise<(readonly string[])[]> {
  const file = await parseDockerfile(resolve(root, dockerfile));
  const local = localPaths(file, distRoot);
  return file.runs.map(([command, ...args]) => {
    if (command !== 'node') throw new Error(`${dockerfile}: RUN ${JSON.stringify([command, ...args])} is not the image's node`);
    return args.map((arg) => local(arg) ?? arg);
  });
}

const withSlash = (path: string) => (path.endsWith('/') ? path : `${path}/`);

/** The same launch with another script in place of the bundle (a baseline "started the same way"). */
export const withScript = (launch: Launch, script: string): Launch => ({
  ...launch,
  args: launch.args.map((arg, index) => (index === launch.scriptIndex ? script : arg)),
});

/** The baseline bundles (tools/bench/baselines/), bundled like the services. */
export const baselines = {
  hapi: 'tools/bench/baselines/bare-hapi.ts',
  command: 'tools/bench/baselines/bare-command.ts',
  query: 'tools/bench/baselines/bare-query.ts',
  projector: 'tools/bench/baselines/bare-projector.ts',
} as const;
export type Baseline = keyof typeof baselines;

export interface BuiltBaseline {
  readonly file: string;
  readonly bytes: number;
}

export async function buildBaseline(name: Baseline, outRoot: string): Promise<BuiltBaseline> {
  const outdir = join(outRoot, name);
  const result = await build({ ...bundleOptions('command', outdir), entryPoints: { index: baselines[name] }, metafile: true });
  return { file: join(outdir, 'index.mjs'), bytes: bundleBytes(result.metafile) };
}
