/**
 * docs/budgets.md figures of fresh processes, per bundle and per Node runtime: cold start (spawn →
 * health 200), cold first request (spawn → first 2xx of a real request), idle RSS after start.
 * Bundles start as their images start them; baselines start the same way (same flags, same ENV).
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';
import { v7 as uuidv7 } from 'uuid';
import { bundleOptions, bundles as serviceEntries } from '../../scripts/build.ts';
import { groupChatStream, messageStream } from '../../src/contracts/streams.ts';
import type { Commit } from '../../src/eventstore/index.ts';
import { DynamoDbEventStore } from '../../src/eventstore/dynamodb-event-store.ts';
import { Projector } from '../../src/modules/projection/index.ts';
import { issueToken } from '../../src/shared/auth.ts';
import { insertRecord, streamEvent } from '../../src/testing/stream-events.ts';
import { interleave, startOnce } from './cold.ts';
import type { Contender, Pair, PairSamples } from './cold.ts';
import type { BenchContext } from './context.ts';
import { functionEnv, writeCommits } from './context.ts';
import { imageLaunch, withScript } from './images.ts';
import type { BundleSpec, FirstRequest, Launch } from './images.ts';
import { spread } from './load.ts';
import type { NodeRuntime } from './node-runtimes.ts';
import { readProfiles, summariseProfiles, summaryMarkdown } from './profile.ts';
import { measured, notMeasured, round, spreadText } from './report.ts';
import type { Row } from './report.ts';

const coldBudget = 1.3;

/** Rows under the development Node carry a verdict only when the images' Node could not be had. */
function judged(context: BenchContext, node: NodeRuntime): boolean {
  return node === context.runtimes.image || context.runtimes.image === undefined;
}

function runtimeNote(context: BenchContext, node: NodeRuntime): string {
  if (node === context.runtimes.image) return '';
  return context.runtimes.image ? 'development Node: for comparison (the budget applies under the images\' Node)' : `the images' Node is missing (${context.runtimes.imageMissing}): measured under the development Node instead`;
}

function pairNote(samples: PairSamples): string {
  const ratios = spread(samples.ratios);
  return `paired ratio median ${round(ratios.p50, 2)}× (p10–p90 ${round(ratios.p10, 2)}–${round(ratios.p90, 2)}×)`;
}

const joinNotes = (...notes: string[]) => notes.filter((n) => n.length > 0).join('; ');

/**
 * A function's settings as in AWS for a start that makes no request: no DYNAMODB_ENDPOINT (the
 * client resolves the regional endpoint on its first call), so the start validates and builds
 * exactly what it does in Lambda.
 */
const startEnv = (context: BenchContext) => functionEnv(context, { DYNAMODB_ENDPOINT: undefined });

export async function launchOf(context: BenchContext, spec: BundleSpec): Promise<Launch> {
  return imageLaunch(spec, context.distRoot);
}

/** Cold start: spawn → first 200 on the health route, interleaved with the bare hapi bundle. */
export async function coldStarts(context: BenchContext): Promise<Row[]> {
  const pairs: Pair[] = [];
  for (const node of context.runtimes.all) {
    for (const spec of context.bundles) {
      const launch = await launchOf(context, spec);
      const env = startEnv(context);
      pairs.push({
        key: `${spec.service}@${node.version}`,
        baseline: { name: 'bare hapi', node, launch: withScript(launch, context.baselines.hapi.file), health: '/health', env },
        ours: { name: spec.service, node, launch, health: spec.health, env },
      });
    }
  }
  const results = await interleave('cold start', pairs, context.sizes.coldRounds, { warmUp: !context.smoke }, (s) => s.ready, context.log);
  context.raw.coldStart = Object.fromEntries(results);
  const rows: Row[] = [];
  for (const node of context.runtimes.all) {
    for (const spec of context.bundles) {
      const samples = results.get(`${spec.service}@${node.version}`)!;
      const ours = spread(samples.ours);
      const bare = spread(samples.baseline);
      rows.push(
        measured('cold-start', `cold start → health 200, ${spec.service}, ${node.label}`, ours.p50, bare.p50, 'ms', `≤ ${coldBudget}× bare hapi`, judged(context, node) ? ours.p50 / bare.p50 <= coldBudget : undefined, {
          spread: spreadText(ours, bare, 'ms'),
          note: joinNotes(pairNote(samples), runtimeNote(context, node)),
        }),
      );
    }
  }
  return rows;
}

/** Idle RSS a moment after the health route first answered. */
export async function idleRss(context: BenchContext): Promise<Row[]> {
  const pairs: Pair[] = [];
  for (const node of context.runtimes.all) {
    for (const spec of context.bundles) {
      const launch = await launchOf(context, spec);
      const env = startEnv(context);
      pairs.push({
        key: `${spec.service}@${node.version}`,
        baseline: { name: 'bare hapi', node, launch: withScript(launch, context.baselines.hapi.file), health: '/health', env },
        ours: { name: spec.service, node, launch, health: spec.health, env },
      });
    }
  }
  const results = await interleave('idle RSS', pairs, context.sizes.rssSamples, { idleMs: context.sizes.idleMs, warmUp: false }, (s) => s.rss!, context.log);
  context.raw.idleRss = Object.fromEntries(results);
  const rows: Row[] = [];
  for (const node of context.runtimes.all) {
    for (const spec of context.bundles) {
      const samples = results.get(`${spec.service}@${node.version}`)!;
      const ours = spread(samples.ours);
      const bare = spread(samples.baseline);
      rows.push(
        measured('rss', `idle RSS after start, ${spec.service}, ${node.label}`, ours.p50, bare.p50, 'MB', '≤ 85 MB', judged(context, node) ? ours.p50 <= 85 : undefined, {
          spread: `min–max ${round(ours.min)}–${round(ours.max)} vs ${round(bare.min)}–${round(bare.max)} MB, n = ${ours.n}`,
          note: joinNotes(`${context.sizes.idleMs} ms after the first health 200; baseline: the bare hapi bundle`, runtimeNote(context, node)),
        }),
      );
    }
  }
  return rows;
}

/**
 * Which bundles serve the projector's POST /events: each is started and asked with an empty
 * batch. A 404 means it does not mount the route.
 */
export async function streamBundles(context: BenchContext): Promise<BundleSpec[]> {
  const serving: BundleSpec[] = [];
  for (const spec of context.bundles) {
    const launch = await launchOf(context, spec);
    let status = 0;
    await startOnce(
      {
        name: spec.service,
        node: context.runtimes.development,
        launch,
        health: spec.health,
        env: functionEnv(context),
        request: async (base) => {
          const response = await fetch(`${base}/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"Records":[]}' });
          status = response.status;
          // Any answer counts here; the real check is whether the route exists.
          return new Response(await response.text(), { status: 200 });
        },
      },
      { request: true },
    );
    if (status !== 404) serving.push(spec);
  }
  context.raw.streamBundles = serving.map((s) => s.service);
  return serving;
}

interface FirstRequestPlan {
  readonly kind: FirstRequest;
  readonly spec: BundleSpec;
  readonly what: string;
  readonly baselineName: string;
  readonly baselineNote: string;
}

/**
 * Cold first request: spawn → first 2xx of a real request on a fresh process, against a bundled
 * baseline (bare hapi + the same raw store calls from a fresh client), interleaved.
 */
export async function firstRequests(context: BenchContext, serving: readonly BundleSpec[]): Promise<Row[]> {
  const plans: FirstRequestPlan[] = [];
  const describe = (kind: FirstRequest, spec: BundleSpec): FirstRequestPlan =>
    kind === 'create-chat'
      ? { kind, spec, what: 'create a chat', baselineName: 'bare hapi + DynamoDB client', baselineNote: 'baseline: bare hapi + a DynamoDB client making the same Query + conditional PutItem' }
      : kind === 'list-messages'
        ? { kind, spec, what: 'read a page of messages', baselineName: 'bare hapi + pg', baselineNote: 'baseline: bare hapi + pg running the same two SELECTs' }
        : { kind, spec, what: 'POST /events, 1 record', baselineName: 'bare hapi + pg', baselineNote: 'baseline: bare hapi + pg writing the record in one transaction' };
  for (const spec of context.bundles) plans.push(describe(spec.firstRequest, spec));
  for (const spec of serving) if (spec.firstRequest !== 'events') plans.push(describe('events', spec));

  const rows: Row[] = [];
  const needsPostgres = plans.filter((p) => p.kind !== 'create-chat');
  const runnable = context.databaseUrl ? plans : plans.filter((p) => p.kind === 'create-chat');
  if (!context.databaseUrl) {
    for (const plan of needsPostgres) {
      for (const node of context.runtimes.all) {
        rows.push(notMeasured('first-request', `cold first request, ${plan.spec.service} (${plan.what}), ${node.label}`, 'ms', `≤ ${coldBudget}× baseline`, 'the bundle needs a real Postgres: set DATABASE_URL'));
      }
    }
  }
  if (runnable.length === 0) return rows;

  const table = await context.freshTable('bench-first');
  const token = issueToken('bench', context.secret);
  const auth = { authorization: `Bearer ${token}` };
  let chatId = '';
  const schemas: Record<string, string> = {};
  if (context.databaseUrl) {
    // A chat with 60 messages, projected, for the query; empty schemas for the stream path.
    const readModel = await context.freshDatabase('bench_first_query');
    schemas.query = readModel.schema;
    schemas.events = (await context.freshDatabase('bench_first_events')).schema;
    schemas.eventsBaseline = (await context.freshDatabase('bench_first_events_base')).schema;
    chatId = uuidv7();
    const commits: Commit[] = [chatCommit(chatId)];
    for (let n = 0; n < 60; n++) commits.push(messageCommit(chatId, `message ${n}`));
    await writeCommits(context.dynamo.client, table, commits);
    await new Projector(readModel.db, new DynamoDbEventStore({ client: context.dynamo.client, tableName: table })).catchUpAll();
  }

  const events = () => JSON.stringify(streamEvent([insertRecord(messageCommit(uuidv7(), 'first'))]));
  const pairs: (Pair & { plan: FirstRequestPlan; node: NodeRuntime })[] = [];
  for (const node of context.runtimes.all) {
    for (const plan of runnable) {
      const launch = await launchOf(context, plan.spec);
      const env = functionEnv(context, { EVENTS_TABLE: table });
      let ours: Contender;
      let baseline: Contender;
      if (plan.kind === 'create-chat') {
        const body = JSON.stringify({ name: 'First' });
        ours = { name: plan.spec.service, node, launch, health: plan.spec.health, env, request: (base) => fetch(`${base}/command/v1/group-chats`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body }) };
        baseline = { name: plan.baselineName, node, launch: withScript(launch, context.baselines.command.file), health: '/health', env, request: (base) => fetch(`${base}/chats`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }) };
      } else if (plan.kind === 'list-messages') {
        const queryEnv = { ...env, DATABASE_SCHEMA: schemas.query };
        ours = { name: plan.spec.service, node, launch, health: plan.spec.health, env: queryEnv, request: (base) => fetch(`${base}/query/v1/group-chats/${chatId}/messages?limit=50`, { headers: auth }) };
        baseline = { name: plan.baselineName, node, launch: withScript(launch, context.baselines.query.file), health: '/health', env: queryEnv, request: (base) => fetch(`${base}/chats/${chatId}/messages?user=bench`) };
      } else {
        const post = (base: string) => fetch(`${base}/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: events() });
        ours = { name: plan.spec.service, node, launch, health: plan.spec.health, env: { ...env, DATABASE_SCHEMA: schemas.events }, request: post };
        baseline = { name: plan.baselineName, node, launch: withScript(launch, context.baselines.projector.file), health: '/health', env: { ...env, DATABASE_SCHEMA: schemas.eventsBaseline }, request: post };
      }
      pairs.push({ key: `${plan.kind}:${plan.spec.service}@${node.version}`, plan, node, ours, baseline });
    }
  }
  const results = await interleave('cold first request', pairs, context.sizes.firstRounds, { request: true, warmUp: !context.smoke }, (s) => s.first!, context.log);
  context.raw.firstRequest = Object.fromEntries(results);
  for (const pair of pairs) {
    const samples = results.get(pair.key)!;
    const ours = spread(samples.ours);
    const base = spread(samples.baseline);
    const ready = `ready p50 ${round(spread(samples.oursReady).p50)} vs ${round(spread(samples.baselineReady).p50)} ms`;
    rows.push(
      measured('first-request', `cold first request, ${pair.plan.spec.service} (${pair.plan.what}), ${pair.node.label}`, ours.p50, base.p50, 'ms', `≤ ${coldBudget}× baseline`, judged(context, pair.node) ? ours.p50 / base.p50 <= coldBudget : undefined, {
        spread: spreadText(ours, base, 'ms'),
        note: joinNotes(
          `spawn → first 2xx; ${ready}`,
          pairNote(samples),
          pair.plan.baselineNote,
          'both with DYNAMODB_ENDPOINT set (dynalite), which Lambda does not set: its URI check at start costs ours a few ms more than in AWS',
          runtimeNote(context, pair.node),
        ),
      }),
    );
  }
  return rows;
}

function chatCommit(chatId: string): Commit {
  return {
    streamId: groupChatStream(chatId),
    version: 1,
    commandId: randomUUID(),
    actorId: 'bench',
    occurredAt: new Date().toISOString(),
    events: [
      { type: 'GroupChatCreated', data: { name: 'Bench', ownerId: 'bench' } },
      { type: 'MemberAdded', data: { userId: 'bench', role: 'admin' } },
    ],
  };
}

export function messageCommit(chatId: string, text: string): Commit {
  return {
    streamId: messageStream(uuidv7()),
    version: 1,
    commandId: randomUUID(),
    actorId: 'bench',
    occurredAt: new Date().toISOString(),
    events: [{ type: 'MessagePosted', data: { groupChatId: chatId, authorId: 'bench', text } }],
  };
}

/**
 * CPU profiles of starts (`node --cpu-prof`), summarised per package: for each bundle whose
 * start is over budget (or every bundle with `all`), and the bare hapi bundle beside it. The
 * profiled bundle is built like the real one but with whitespace kept, so that each sampled line
 * maps to one package.
 */
export async function startProfiles(context: BenchContext, services: readonly string[]): Promise<string | undefined> {
  if (services.length === 0) return undefined;
  const node = context.runtimes.image ?? context.runtimes.development;
  const root = join(context.work, 'profiled');
  const sections: string[] = [
    '## Start-up profiles',
    '',
    `Where the CPU goes between spawn and the first health 200, under ${node.label}: \`node --cpu-prof --cpu-prof-interval 100\`, ` +
      'self time by the package (or source folder) of each sampled line, through the source map of a bundle built like the image\'s but with ' +
      'whitespace kept (one statement per line). "(garbage collector)", "(program)" and `node:internal/…` are the runtime: ' +
      '`node:internal/modules/esm/utils` is mostly V8 compiling the bundle. Milliseconds are sampled wall time while the process ran and ' +
      'swell on a busy machine; the shares, and the difference to the bare hapi bundle, are what to read. ' +
      'Summarise other profiles with `npx tsx tools/bench/profile.ts`.',
    '',
  ];
  const profiled = async (name: string, entry: string, spec: BundleSpec, health: string) => {
    const outdir = join(root, name);
    await mkdir(outdir, { recursive: true });
    // One file (no chunks): the summary maps samples through that file's source map. The
    // compile cache cannot serve the file that turns it on, so these starts compile everything.
    const result = await build({ ...bundleOptions(spec.service, outdir), entryPoints: { index: entry }, splitting: false, minify: false, minifyIdentifiers: true, minifySyntax: true, metafile: true });
    await writeFile(join(outdir, 'meta.json'), JSON.stringify(result.metafile));
    const launch = withScript(await launchOf(context, spec), join(outdir, 'index.mjs'));
    const dir = join(outdir, 'profiles');
    for (let run = 1; run <= context.sizes.profileRuns; run++) {
      await startOnce({ name, node, launch, health, env: startEnv(context) }, { extraArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval', '100'] });
      context.log(`[profile] ${name}: start ${run} of ${context.sizes.profileRuns}`);
    }
    const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(dir, f));
    return summariseProfiles(await readProfiles(files), { code: join(outdir, 'index.mjs') });
  };
  const bare = await profiled('bare-hapi', 'tools/bench/baselines/bare-hapi.ts', context.bundles[0]!, '/health');
  const summaries: Record<string, unknown> = { 'bare hapi': bare };
  for (const service of services) {
    const spec = context.bundles.find((b) => b.service === service)!;
    const summary = await profiled(service, serviceEntries[spec.service].entry, spec, spec.health);
    summaries[service] = summary;
    sections.push(summaryMarkdown(`${service} bundle, ${node.label}`, summary, 14, { name: 'bare hapi', summary: bare }));
  }
  sections.push(summaryMarkdown('bare hapi bundle (the baseline)', bare, 8));
  // The raw results keep the top of each list: the rest is a long tail of sub-millisecond entries.
  context.raw.profiles = Object.fromEntries(
    Object.entries(summaries).map(([name, summary]) => {
      const { packages, functions, ...rest } = summary as Awaited<ReturnType<typeof summariseProfiles>>;
      return [name, { ...rest, packages: packages.slice(0, 40), functions: functions.slice(0, 40) }];
    }),
  );
  return sections.join('\n');
}
