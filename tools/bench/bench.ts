/**
 * `npm run bench`: measures every figure of docs/budgets.md on this machine, each against a
 * baseline in the same run, and writes BENCHMARKS.md and bench-results.json (see `--help`). Not a
 * test: budgets are reported, not asserted. The event log is dynalite in a child process unless
 * DYNAMODB_ENDPOINT is set; projections are the Postgres of DATABASE_URL, else PGlite (and the
 * figures that need a real Postgres say they were not measured).
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { migrate, openDatabase } from '../../src/modules/projection/index.ts';
import type { ProjectionDatabase } from '../../src/modules/projection/index.ts';
import { createDynamoDbClient } from '../../src/eventstore/dynamodb-event-store.ts';
import { buildBundle } from '../../scripts/build.ts';
import type { Bundle as Service } from '../../scripts/build.ts';
import type { BenchContext, Runtimes, Sizes } from './context.ts';
import { createTable, dropDatabase, fullSizes, openFreshDatabase, smokeSizes } from './context.ts';
import { baselines, buildBaseline, bundles, imagePrepareSteps } from './images.ts';
import type { Baseline, BuiltBaseline } from './images.ts';
import { commandLatency, longHistory, queryLatency, rebuildThroughput } from './in-process.ts';
import { median } from './load.ts';
import { memoryUnderLoad, projectionLag, startLocal } from './local-process.ts';
import type { LocalProcess } from './local-process.ts';
import { developmentNode, findImageNode, imageNodeVersion } from './node-runtimes.ts';
import { stop } from './processes.ts';
import { groups, measured, notMeasured, optInGroups, writeReport } from './report.ts';
import { loopFigures } from './loops.ts';
import { pipelineFigures } from './pipeline.ts';
import type { Group, Report, Row } from './report.ts';
import { coldStarts, firstRequests, idleRss, startProfiles, streamBundles } from './starts.ts';
import { streamPath } from './stream-path.ts';
import { tracingFigures } from './tracing.ts';

export type { Row, Report } from './report.ts';

const run = promisify(execFile);

export interface BenchOptions {
  /** Tiny sizes: checks that every figure can be measured (CI), not what it is. */
  readonly smoke?: boolean;
  /** Where BENCHMARKS.md and bench-results.json go: the repository (full runs), a temporary folder (smoke runs). */
  readonly out?: string;
  /** Measure only these groups; the others keep their rows from the previous results. */
  readonly only?: readonly Group[];
  readonly loadSeconds?: number;
  readonly soakSeconds?: number;
  /** Interleaved pairs per cold-start and first-request figure. */
  readonly rounds?: number;
  /** Fetch the images' Node from the npm registry when it is not cached (default: on, except in smoke runs). */
  readonly download?: boolean;
  /** Profile every bundle's start, not only those over budget. */
  readonly profileAll?: boolean;
  readonly log?: (message: string) => void;
}

const secret = 'bench-secret-of-enough-length';
const repoRoot = resolve(import.meta.dirname, '../..');
const bundleGroups: readonly Group[] = ['build', 'cold-start', 'first-request', 'rss', 'events', 'command', 'tracing', 'profile'];
const nodeGroups: readonly Group[] = ['cold-start', 'first-request', 'rss', 'events', 'tracing', 'profile'];

async function startDynalite(): Promise<{ endpoint: string; child?: ChildProcess }> {
  if (process.env.DYNAMODB_ENDPOINT) return { endpoint: process.env.DYNAMODB_ENDPOINT };
  const child = spawn(process.execPath, ['-e', "const d=require('dynalite')({createTableMs:0});d.listen(0,'127.0.0.1',()=>console.log(d.address().port))"], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<string>((resolve) => child.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString().trim())));
  return { endpoint: `http://127.0.0.1:${port}`, child };
}

export async function runBench(options: BenchOptions = {}): Promise<Report> {
  const smoke = Boolean(options.smoke);
  const base: Sizes = smoke ? smokeSizes : fullSizes;
  const sizes: Sizes = {
    ...base,
    ...(options.loadSeconds === undefined ? {} : { loadSeconds: options.loadSeconds }),
    ...(options.soakSeconds === undefined ? {} : { soakSeconds: options.soakSeconds }),
    ...(options.rounds === undefined ? {} : { coldRounds: options.rounds, firstRounds: options.rounds }),
  };
  const selected: readonly Group[] = options.only ?? groups.filter((group) => !optInGroups.includes(group));
  const wants = (group: Group) => selected.includes(group);
  const log = options.log ?? ((message: string) => process.stderr.write(`${message}\n`));
  const out = resolve(options.out ?? (smoke ? join(tmpdir(), 'cqrs-bench-smoke') : '.'));
  await mkdir(out, { recursive: true });
  const work = await mkdtemp(join(tmpdir(), 'cqrs-bench-'));
  const cleanups: (() => Promise<unknown>)[] = [() => rm(work, { recursive: true, force: true })];
  const defer = (cleanup: () => Promise<unknown>) => cleanups.unshift(cleanup);
  const rows: Row[] = [];
  const raw: Record<string, unknown> = { sizes };
  const startedAt = new Date().toISOString();
  const load = loadavg();
  const databaseUrl = process.env.DATABASE_URL || undefined;

  const development = developmentNode();
  let runtimes: Runtimes = { development, all: [development] };
  const imageVersion = await imageNodeVersion();
  if (selected.some((g) => nodeGroups.includes(g))) {
    const found = await findImageNode({ version: imageVersion, download: options.download ?? !smoke, log });
    // A smoke run checks the harness, not the numbers: one runtime is enough.
    runtimes = found.node
      ? { development, image: found.node, all: found.node.path === development.path || smoke ? [found.node] : [found.node, development] }
      : { development, imageMissing: found.reason, all: [development] };
    log(found.node ? `images' Node: ${found.node.label} (${found.node.source})` : `images' Node ${imageVersion}: not available — ${found.reason}`);
  }
  raw.runtimes = { development: development.version, image: runtimes.image?.version ?? null, imageSource: runtimes.image?.source ?? null, imageMissing: runtimes.imageMissing ?? null };

  let sharedPglite: Promise<ProjectionDatabase> | undefined;
  const freshDatabase = async (prefix: string): Promise<ProjectionDatabase> => {
    if (databaseUrl) {
      const database = await openFreshDatabase(databaseUrl, prefix);
      defer(() => dropDatabase(database));
      return database;
    }
    if (!sharedPglite) {
      sharedPglite = openDatabase({});
      defer(async () => (await sharedPglite!).close());
    }
    const shared = await sharedPglite;
    const schema = `${prefix}_${Math.random().toString(36).slice(2, 10)}`;
    const database: ProjectionDatabase = { ...shared, db: shared.inSchema(schema), schema, close: async () => undefined };
    await migrate(database.db, schema);
    return database;
  };

  try {
    const needsStores = selected.some((g) => g !== 'build' && g !== 'loops' && g !== 'pipeline');
    const dynamo = needsStores ? await startDynalite() : { endpoint: 'http://127.0.0.1:1' };
    if ('child' in dynamo && dynamo.child) defer(() => stop(dynamo.child!));
    const client = createDynamoDbClient({ endpoint: dynamo.endpoint });
    defer(async () => client.destroy());

    // The services' bundles, as `npm run build` makes them, and the baselines, bundled the same way.
    const distRoot = join(work, 'dist');
    const bundleBytes = new Map<Service, number>();
    const built: Partial<Record<Baseline, BuiltBaseline>> = {};
    if (selected.some((g) => bundleGroups.includes(g))) {
      const ours: number[] = [];
      const bare: number[] = [];
      const builds = wants('build') ? sizes.builds : 1;
      for (let run = 1; run <= builds; run++) {
        log(`[build] ${run} of ${builds}: ${bundles.map((b) => b.service).join(', ')} and the bare hapi bundle`);
        let t0 = performance.now();
        const results = await Promise.all(bundles.map((spec) => buildBundle(spec.service, distRoot)));
        ours.push(performance.now() - t0);
        for (const result of results) bundleBytes.set(result.bundle, result.bytes);
        t0 = performance.now();
        built.hapi = await buildBaseline('hapi', join(work, 'baselines'));
        bare.push(performance.now() - t0);
      }
      for (const name of Object.keys(baselines) as Baseline[]) built[name] ??= await buildBaseline(name, join(work, 'baselines'));
      // The images' build-time RUNs (each bundle's compile cache), with every Node measured here.
      for (const dockerfile of new Set(bundles.map((spec) => spec.dockerfile))) {
        for (const args of await imagePrepareSteps(dockerfile, distRoot)) {
          for (const node of runtimes.all) await run(node.path, args, { timeout: 120_000 });
        }
      }
      raw.build = { ours, bare, bytes: Object.fromEntries(bundleBytes), baselineBytes: Object.fromEntries(Object.entries(built).map(([k, v]) => [k, v.bytes])) };
      if (wants('build')) {
        rows.push(
          measured('build', `build, all ${bundles.length} bundles (median)`, median(ours), median(bare), 'ms', '≤ 5,000 ms', median(ours) <= 5_000, {
            spread: `min–max ${Math.round(Math.min(...ours))}–${Math.round(Math.max(...ours))} ms, n = ${ours.length}`,
            note: 'the bundles in parallel, as `npm run build`; baseline: bundling the bare hapi server',
          }),
        );
        for (const spec of bundles) {
          const bytes = bundleBytes.get(spec.service)!;
          rows.push(measured('build', `bundle size, ${spec.service}`, bytes / 1024, built.hapi!.bytes / 1024, 'KB', `≤ ${(spec.sizeBudgetBytes / 1000).toLocaleString('en-US')} KB`, bytes <= spec.sizeBudgetBytes, { note: 'minified, the entry and the chunks it loads on first use; baseline: the bare hapi bundle' }));
        }
      }
    }

    const context: BenchContext = {
      sizes,
      smoke,
      work,
      distRoot,
      bundles,
      bundleBytes,
      baselines: built as Record<Baseline, BuiltBaseline>,
      runtimes,
      dynamo: { endpoint: dynamo.endpoint, client },
      ...(databaseUrl ? { databaseUrl } : {}),
      secret,
      log,
      raw,
      defer,
      freshTable: (prefix) => createTable(client, prefix),
      freshDatabase,
    };

    const steps: [Group, string, () => Promise<Row[]>][] = [];
    let serving: Awaited<ReturnType<typeof streamBundles>> | undefined;
    const servingBundles = async () => {
      if (!serving) {
        log('[events] asking each bundle whether it serves POST /events…');
        serving = await streamBundles(context);
        log(`[events] served by: ${serving.map((s) => s.service).join(', ') || 'none'}`);
      }
      return serving;
    };
    if (wants('cold-start')) steps.push(['cold-start', 'cold start per bundle, interleaved with bare hapi', () => coldStarts(context)]);
    if (wants('rss')) steps.push(['rss', 'idle RSS per bundle', () => idleRss(context)]);
    if (wants('first-request')) steps.push(['first-request', 'cold first request per bundle, interleaved with its baseline', async () => firstRequests(context, await servingBundles())]);
    if (wants('events')) steps.push(['events', 'stream → projector throughput', async () => streamPath(context, await servingBundles())]);
    // A full run gives each its own fresh process; a smoke run shares one (it checks the harness).
    let sharedLocal: Promise<LocalProcess> | undefined;
    const local = () => {
      if (!smoke || !(wants('lag') && wants('memory'))) return Promise.resolve(undefined);
      if (!sharedLocal) {
        log('[npm start] one child process for the lag and memory figures (smoke run)…');
        sharedLocal = startLocal(context, 'local', { postgres: databaseUrl !== undefined });
        defer(async () => (await sharedLocal!).stop());
      }
      return sharedLocal;
    };
    if (wants('lag')) steps.push(['lag', 'projection lag, idle and under load', async () => projectionLag(context, await local())]);
    if (wants('memory')) {
      steps.push(['memory', `npm start memory under mixed load${smoke ? '' : ', as it comes (embedded PGlite)'}`, async () => memoryUnderLoad(context, false, await local())]);
      // With a real Postgres, again with the projections there: the event log's memory alone.
      if (databaseUrl && !smoke) steps.push(['memory', 'npm start memory under mixed load, projections in Postgres', () => memoryUnderLoad(context, true)]);
    }
    if (wants('command')) steps.push(['command', 'command latency against the raw calls', () => commandLatency(context)]);
    if (wants('query')) steps.push(['query', 'query latency against the raw SQL', () => queryLatency(context)]);
    if (wants('history')) steps.push(['history', 'a chat with a long history', () => longHistory(context)]);
    if (wants('rebuild')) steps.push(['rebuild', 'rebuild throughput', () => rebuildThroughput(context)]);
    if (wants('tracing')) steps.push(['tracing', 'tracing on vs off: cold start and command latency, interleaved', () => tracingFigures(context)]);
    if (wants('loops')) {
      steps.push([
        'loops',
        "the maintainer's loops on two clean clones of HEAD: npm ci, npm test alone and two at once, typecheck, test:all",
        async () =>
          // A smoke run is itself inside a test run: it cannot run the suite again.
          smoke
            ? [notMeasured('loops', 'npm test (fast tier), alone', 's', '≤ 120 s on 2 cores, passing', 'a smoke run does not run the test suite inside itself')]
            : (await loopFigures({ root: repoRoot, ...(databaseUrl ? { databaseUrl } : {}), log })).rows,
      ]);
    }
    if (wants('pipeline')) {
      steps.push([
        'pipeline',
        "the pipeline's local steps on a clean clone of HEAD: build cache restore, decide (changed and unchanged), ship with stand-ins, synth",
        () => pipelineFigures({ root: repoRoot, runs: smoke ? 1 : 3, log }),
      ]);
    }
    for (const [index, [, title, step]] of steps.entries()) {
      log(`== ${index + 1} of ${steps.length}: ${title}`);
      const t0 = performance.now();
      rows.push(...(await step()));
      log(`   (${Math.round((performance.now() - t0) / 1000)} s)`);
    }

    let profiles: string | undefined;
    if (wants('profile')) {
      const explicit = options.profileAll || (options.only?.includes('profile') ?? false);
      const over = bundles.filter((spec) => rows.some((r) => r.verdict === 'over' && (r.group === 'cold-start' || r.group === 'first-request') && r.figure.includes(`, ${spec.service}`)));
      // A smoke run profiles one bundle: enough to keep the profiler working.
      const chosen = (explicit ? bundles : over).map((spec) => spec.service).slice(0, smoke ? 1 : undefined);
      if (chosen.length > 0) {
        log(`== profiles of the start of: ${chosen.join(', ')}`);
        profiles = await startProfiles(context, chosen);
      }
    }

    const report: Report = {
      generatedAt: startedAt,
      machine: { cpus: cpus().length, load, node: development.label, imageNode: runtimes.image?.label ?? (runtimes.imageMissing ? `Node ${imageVersion} (not available: ${runtimes.imageMissing})` : `Node ${imageVersion}`) },
      stores: {
        'Event log': process.env.DYNAMODB_ENDPOINT ? `external DynamoDB-API endpoint (DYNAMODB_ENDPOINT)` : 'dynalite in its own process, in memory; `npm start` figures: dynalite inside that process, as `npm start` runs it',
        Projections: databaseUrl ? 'real Postgres (DATABASE_URL)' : 'PGlite (DATABASE_URL not set: the figures that need a real Postgres are marked not measured)',
      },
      smoke,
      measuredGroups: selected,
      rows,
      ...(profiles ? { profiles } : {}),
      raw,
    };
    return await writeReport(out, report);
  } finally {
    for (const cleanup of cleanups) await cleanup().catch(() => undefined);
  }
}

const usage = `npm run bench [-- options]

  --smoke               tiny sizes, results in a temporary folder (what CI runs)
  --only a,b            measure only these groups; the others keep their previous rows:
                        ${groups.join(', ')}
                        (${optInGroups.join(', ')}: only when named here; it runs the test suites
                        on two clean clones of HEAD, about 15 minutes)
  --load-seconds N      lag under load: how long the writers write (default ${fullSizes.loadSeconds})
  --soak-seconds N      memory under mixed load: how long (default ${fullSizes.soakSeconds}; docs/budgets.md says 480)
  --rounds N            interleaved pairs per cold-start / first-request figure (default ${fullSizes.coldRounds} / ${fullSizes.firstRounds})
  --profile             profile every bundle's start, not only those over budget
  --no-download         do not fetch the images' Node from the npm registry
  --out DIR             where BENCHMARKS.md and bench-results.json go (default: here)

Environment: DATABASE_URL (real Postgres; several figures need it), DYNAMODB_ENDPOINT,
BENCH_NODE22=/path/to/node (the images' Node, instead of fetching it).`;

export function parseArgs(args: readonly string[]): BenchOptions | 'help' {
  const value = (flag: string) => {
    const at = args.indexOf(flag);
    if (at < 0) return undefined;
    const next = args[at + 1];
    if (next === undefined || next.startsWith('--')) throw new Error(`${flag} needs a value`);
    return next;
  };
  const number = (flag: string) => {
    const text = value(flag);
    if (text === undefined) return undefined;
    const parsed = Number(text);
    if (!Number.isFinite(parsed) || parsed <= 0) throw new Error(`${flag} must be a positive number, not ${text}`);
    return parsed;
  };
  if (args.includes('--help') || args.includes('-h')) return 'help';
  const known = new Set(['--smoke', '--only', '--load-seconds', '--soak-seconds', '--rounds', '--profile', '--no-download', '--out']);
  for (const [index, arg] of args.entries()) {
    if (arg.startsWith('--') && !known.has(arg)) throw new Error(`unknown option ${arg}`);
    if (!arg.startsWith('--') && !['--only', '--load-seconds', '--soak-seconds', '--rounds', '--out'].includes(args[index - 1] ?? '')) throw new Error(`unexpected argument ${arg}`);
  }
  const only = value('--only')?.split(',').map((g) => g.trim());
  for (const group of only ?? []) if (!(groups as readonly string[]).includes(group)) throw new Error(`--only: unknown group ${group} (one of ${groups.join(', ')})`);
  const loadSeconds = number('--load-seconds');
  const soakSeconds = number('--soak-seconds');
  const rounds = number('--rounds');
  const out = value('--out');
  return {
    smoke: args.includes('--smoke'),
    ...(only ? { only: only as Group[] } : {}),
    ...(loadSeconds === undefined ? {} : { loadSeconds }),
    ...(soakSeconds === undefined ? {} : { soakSeconds }),
    ...(rounds === undefined ? {} : { rounds: Math.round(rounds) }),
    ...(args.includes('--profile') ? { profileAll: true } : {}),
    ...(args.includes('--no-download') ? { download: false } : {}),
    ...(out === undefined ? {} : { out }),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  let options: BenchOptions | 'help';
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${usage}`);
    process.exit(2);
  }
  if (options === 'help') {
    console.log(usage);
    process.exit(0);
  }
  const started = performance.now();
  runBench(options)
    .then((report) => {
      for (const r of report.rows) {
        const figures = r.ours === null ? r.note : `${r.ours} ${r.unit} (baseline ${r.baseline}, ${r.ratio}×)`;
        console.error(`${r.verdict.padEnd(12)} ${r.figure}: ${figures}`);
      }
      console.error(`done in ${Math.round((performance.now() - started) / 1000)} s: ${resolve((options as BenchOptions).out ?? ((options as BenchOptions).smoke ? join(tmpdir(), 'cqrs-bench-smoke') : '.'))}/BENCHMARKS.md`);
      process.exit(0);
    })
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
}
