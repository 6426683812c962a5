/**
 * docs/budgets.md, stream → projector: `POST /events` with batches of new-stream records shaped as the
 * Lambda event source mapping delivers DynamoDB Streams records, into Postgres; events/s against
 * bare hapi + pg writing the same batches with raw SQL, one transaction per batch. Batches go to
 * both sides alternately.
 */
import { CompiledQuery } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import type { Commit } from '../../src/eventstore/index.ts';
import { DynamoDbEventStore } from '../../src/eventstore/dynamodb-event-store.ts';
import type { ProjectionDatabase } from '../../src/modules/projection/index.ts';
import { insertRecord, streamEvent } from '../../src/testing/stream-events.ts';
import { projectBatch } from './baselines/raw-projection.ts';
import type { BenchContext } from './context.ts';
import { functionEnv, writeCommits } from './context.ts';
import { withScript } from './images.ts';
import type { BundleSpec } from './images.ts';
import { spread } from './load.ts';
import { cleanEnv, freePort, spawnProcess, stop, waitFor200 } from './processes.ts';
import { measured, notMeasured, round } from './report.ts';
import type { Row } from './report.ts';
import { launchOf, messageCommit } from './starts.ts';

const budget = 2_000;

interface Endpoint {
  readonly url: string;
  close(): Promise<void>;
  output(): string;
}

async function startProcessEndpoint(context: BenchContext, node: string, launch: Parameters<typeof withScript>[0], health: string, env: Record<string, string | undefined>): Promise<Endpoint> {
  const port = await freePort();
  const spawned = spawnProcess(node, launch.args, cleanEnv({ ...launch.env, ...env, PORT: String(port), AWS_LWA_PORT: String(port), HOST: '127.0.0.1' }), launch.cwd);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor200(`${url}${health}`, spawned.child);
  } catch (error) {
    await stop(spawned.child);
    throw new Error(`${(error as Error).message}\n${spawned.output().slice(-2_000)}`, { cause: error });
  }
  return { url, close: () => stop(spawned.child), output: spawned.output };
}

/** Without DATABASE_URL: the module's own endpoint and the raw baseline, in this process, on PGlite. */
async function startInProcess(context: BenchContext, table: string, ours: ProjectionDatabase, base: ProjectionDatabase): Promise<[Endpoint, Endpoint]> {
  const [{ Projector }, { projectorModule }] = await Promise.all([import('../../src/modules/projection/index.ts'), import('../../src/modules/projector/index.ts')]);
  const { createHttpServer } = await import('../../src/shared/http-server.ts');
  const store = new DynamoDbEventStore({ client: context.dynamo.client, tableName: table });
  const server = createHttpServer({ port: 0, host: '127.0.0.1' });
  await server.register({ plugin: projectorModule, options: { db: ours.db, projector: new Projector(ours.db, store), path: '/events', tableName: table } });
  await server.start();
  const baseline = createHttpServer({ port: 0, host: '127.0.0.1' });
  baseline.route({
    method: 'POST',
    path: '/events',
    options: { payload: { maxBytes: 6 * 1024 * 1024 } },
    handler: async (request) => {
      const { Records } = request.payload as { Records: Parameters<typeof projectBatch>[2] };
      await base.db.transaction().execute((trx) =>
        projectBatch({ query: async (text, params) => ({ rows: (await trx.executeQuery(CompiledQuery.raw(text, params))).rows as Record<string, unknown>[] }) }, base.schema, Records),
      );
      return { batchItemFailures: [] };
    },
  });
  await baseline.start();
  return [
    { url: server.info.uri, close: () => server.stop(), output: () => '' },
    { url: baseline.info.uri, close: () => baseline.stop(), output: () => '' },
  ];
}

export async function streamPath(context: BenchContext, serving: readonly BundleSpec[]): Promise<Row[]> {
  const { eventBatches, eventBatchSize } = context.sizes;
  const title = `stream → projector, POST /events with ${eventBatchSize}-record batches`;
  if (serving.length === 0) return [notMeasured('events', title, 'events/s', `≥ ${budget.toLocaleString('en-US')} events/s`, 'no bundle serves POST /events')];
  const rows: Row[] = [];
  for (const spec of context.databaseUrl ? serving : serving.slice(0, 1)) {
    const table = await context.freshTable('bench-events');
    const ours = await context.freshDatabase('bench_events');
    const base = await context.freshDatabase('bench_events_base');
    // Chats to post into, then every batch: new Message streams at version 1, also in the log.
    const chats = Array.from({ length: 10 }, () => uuidv7());
    const warmUp = context.smoke ? 1 : 2;
    const batches: Commit[][] = Array.from({ length: eventBatches + warmUp }, (_, b) =>
      Array.from({ length: eventBatchSize }, (_, n) => messageCommit(chats[n % chats.length]!, `batch ${b} record ${n}`)),
    );
    context.log(`[events] writing ${batches.length * eventBatchSize} commits to the log…`);
    await writeCommits(context.dynamo.client, table, batches.flat());

    const node = context.runtimes.image ?? context.runtimes.development;
    let endpoints: [Endpoint, Endpoint];
    let where: string;
    if (context.databaseUrl) {
      const launch = await launchOf(context, spec);
      const env = functionEnv(context, { EVENTS_TABLE: table });
      endpoints = [
        await startProcessEndpoint(context, node.path, launch, spec.health, { ...env, DATABASE_SCHEMA: ours.schema }),
        await startProcessEndpoint(context, node.path, withScript(launch, context.baselines.projector.file), '/health', { ...env, DATABASE_SCHEMA: base.schema }),
      ];
      where = `the ${spec.service} bundle under ${node.label}, Postgres (DATABASE_URL)`;
    } else {
      endpoints = await startInProcess(context, table, ours, base);
      where = 'PGlite in this process (DATABASE_URL not set): the query module\'s endpoint, not the bundle';
    }
    const times: { ours: number[]; base: number[] } = { ours: [], base: [] };
    try {
      for (let b = 0; b < batches.length; b++) {
        const body = JSON.stringify(streamEvent(batches[b]!.map((c) => insertRecord(c)), table));
        for (const [side, endpoint] of [['base', endpoints[1]], ['ours', endpoints[0]]] as const) {
          const t0 = performance.now();
          const response = await fetch(`${endpoint.url}/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
          const answer = await response.text();
          const ms = performance.now() - t0;
          if (response.status !== 200 || answer !== '{"batchItemFailures":[]}') throw new Error(`${side}: POST /events → ${response.status} ${answer.slice(0, 300)}\n${endpoint.output().slice(-2_000)}`);
          if (b >= warmUp) times[side].push(ms);
        }
        if (b >= warmUp && ((b - warmUp + 1) % 10 === 0 || b === batches.length - 1)) context.log(`[events] batch ${b - warmUp + 1} of ${eventBatches}`);
      }
    } finally {
      for (const endpoint of endpoints) await endpoint.close();
    }
    // Exactly once: every record is a row, none twice.
    const counted = await ours.db.selectFrom('messages').select((eb) => eb.fn.countAll<string>().as('count')).executeTakeFirstOrThrow();
    const rowsWritten = Number(counted.count);
    const expected = batches.length * eventBatchSize;
    const rate = (ms: number[]) => (ms.length * eventBatchSize) / (ms.reduce((s, v) => s + v, 0) / 1000);
    const perBatch = (ms: number[]) => spread(ms.map((v) => eventBatchSize / (v / 1000)));
    const oursRate = rate(times.ours);
    const baseRate = rate(times.base);
    const o = perBatch(times.ours);
    const bl = perBatch(times.base);
    context.raw[`events:${spec.service}`] = { where, batches: eventBatches, batchSize: eventBatchSize, oursMs: times.ours, baselineMs: times.base, rowsWritten, expected };
    rows.push(
      measured('events', `${title}, ${spec.service} bundle (events/s)`, oursRate, baseRate, 'events/s', `≥ ${budget.toLocaleString('en-US')} events/s`, oursRate >= budget && rowsWritten === expected, {
        spread: `per batch p10–p90 ${round(o.p10, 0)}–${round(o.p90, 0)} vs ${round(bl.p10, 0)}–${round(bl.p90, 0)} events/s, n = ${o.n} batches`,
        note: `${where}; ${eventBatches * eventBatchSize} MessagePosted records of new streams; rows written ${rowsWritten} of ${expected} (warm-up batches included); baseline: bare hapi + pg, one transaction per batch, positions and rows in two multi-row statements`,
      }),
    );
  }
  return rows;
}
