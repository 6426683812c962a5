/** What every part of the benchmark shares: sizes, stores, runtimes, built bundles, clean-up. */
import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteItemCommand } from '@aws-sdk/client-dynamodb';
import { sql } from 'kysely';
import type { Bundle as Service } from '../../scripts/build.ts';
import type { Commit } from '../../src/eventstore/index.ts';
import { toItem } from '../../src/eventstore/index.ts';
import { ensureEventsTable } from '../../src/eventstore/events-table.ts';
import { migrate, openDatabase } from '../../src/modules/projection/index.ts';
import type { ProjectionDatabase } from '../../src/modules/projection/index.ts';
import type { Baseline, BuiltBaseline, BundleSpec } from './images.ts';
import type { NodeRuntime } from './node-runtimes.ts';

export interface Sizes {
  readonly builds: number;
  /** Interleaved pairs per cold-start figure. */
  readonly coldRounds: number;
  /** Interleaved pairs per first-request figure. */
  readonly firstRounds: number;
  readonly rssSamples: number;
  readonly idleMs: number;
  /** Requests per latency figure. */
  readonly requests: number;
  /** Lag probes with the service idle. */
  readonly lagSamples: number;
  /** Writers and duration of the lag-under-load figure. */
  readonly writers: number;
  readonly loadSeconds: number;
  /** Mixed load of the memory figure. */
  readonly soakWriters: number;
  readonly soakReaders: number;
  readonly soakSeconds: number;
  /** After a load: quiet time before the settled RSS reading. */
  readonly settleSeconds: number;
  readonly eventBatches: number;
  readonly eventBatchSize: number;
  readonly profileRuns: number;
  readonly rebuildEvents: number;
  readonly historyMembers: number;
  readonly historyChanges: number;
  readonly historyMessages: number;
}

export const fullSizes: Sizes = {
  builds: 5,
  coldRounds: 12,
  firstRounds: 10,
  rssSamples: 3,
  idleMs: 1_000,
  requests: 400,
  lagSamples: 200,
  writers: 64,
  loadSeconds: 180,
  soakWriters: 32,
  soakReaders: 32,
  soakSeconds: 180,
  settleSeconds: 15,
  eventBatches: 50,
  eventBatchSize: 100,
  profileRuns: 8,
  rebuildEvents: 50_000,
  historyMembers: 100,
  historyChanges: 1_000,
  historyMessages: 10_000,
};

export const smokeSizes: Sizes = {
  builds: 1,
  coldRounds: 1,
  firstRounds: 1,
  rssSamples: 1,
  idleMs: 200,
  requests: 20,
  lagSamples: 5,
  writers: 16,
  loadSeconds: 2,
  soakWriters: 4,
  soakReaders: 4,
  soakSeconds: 2,
  settleSeconds: 1,
  eventBatches: 1,
  eventBatchSize: 100,
  profileRuns: 1,
  rebuildEvents: 500,
  historyMembers: 10,
  historyChanges: 20,
  historyMessages: 50,
};

export interface Runtimes {
  readonly development: NodeRuntime;
  /** The images' Node (22), when one could be found. */
  readonly image?: NodeRuntime;
  /** Why there is no `image`. */
  readonly imageMissing?: string;
  /** Each distinct runtime to measure under, the images' first. */
  readonly all: readonly NodeRuntime[];
}

export interface BenchContext {
  readonly sizes: Sizes;
  readonly smoke: boolean;
  readonly work: string;
  /** The services' bundles, built as `npm run build` does: <distRoot>/<service>/index.mjs. */
  readonly distRoot: string;
  readonly bundles: readonly BundleSpec[];
  readonly bundleBytes: ReadonlyMap<Service, number>;
  readonly baselines: Readonly<Record<Baseline, BuiltBaseline>>;
  readonly runtimes: Runtimes;
  readonly dynamo: { readonly endpoint: string; readonly client: DynamoDBClient };
  readonly databaseUrl?: string;
  readonly secret: string;
  readonly log: (message: string) => void;
  readonly raw: Record<string, unknown>;
  /** Runs at the end of the bench, last registered first. */
  defer(cleanup: () => Promise<unknown>): void;
  /** A new events table on the bench's DynamoDB endpoint. */
  freshTable(prefix: string): Promise<string>;
  /** A new migrated projection schema (Postgres of DATABASE_URL, else in-process PGlite), dropped at the end. */
  freshDatabase(prefix: string): Promise<ProjectionDatabase>;
}

/** The settings every service process gets in the bench, as its Lambda function would (stores, secrets, region). */
export function functionEnv(context: BenchContext, extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    AWS_REGION: 'eu-west-1',
    // Lambda puts the role's credentials in the environment; dynalite accepts any.
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_SESSION_TOKEN: 'bench',
    DYNAMODB_ENDPOINT: context.dynamo.endpoint,
    EVENTS_TABLE: 'events',
    JWT_SECRET: context.secret,
    // Never connected to unless a request needs it: the health route does not.
    DATABASE_URL: context.databaseUrl ?? 'postgres://bench@127.0.0.1:1/none',
    ...extra,
  };
}

export async function createTable(client: DynamoDBClient, prefix: string): Promise<string> {
  const name = `${prefix}-${randomUUID()}`;
  await ensureEventsTable(client, name);
  return name;
}

export async function openFreshDatabase(databaseUrl: string | undefined, prefix: string): Promise<ProjectionDatabase> {
  const schema = `${prefix}_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const database = await openDatabase(databaseUrl ? { url: databaseUrl, schema } : { schema });
  await migrate(database.db, database.schema);
  return database;
}

export async function dropDatabase(database: ProjectionDatabase): Promise<void> {
  if (database.kind === 'postgres') {
    for (const name of [database.schema, `${database.schema}_old`, `${database.schema}_rebuild`]) {
      await sql`drop schema if exists ${sql.id(name)} cascade`.execute(database.db).catch(() => undefined);
    }
  }
  await database.close();
}

/** Writes commits straight into the log, 25 items per BatchWriteItem. */
export async function writeCommits(client: DynamoDBClient, tableName: string, commits: readonly Commit[]): Promise<void> {
  for (let start = 0; start < commits.length; start += 25) {
    let items = commits.slice(start, start + 25).map((c) => ({ PutRequest: { Item: toItem(c) } }));
    for (let attempt = 0; items.length > 0 && attempt < 20; attempt++) {
      const result = await client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: items } }));
      items = (result.UnprocessedItems?.[tableName] ?? []) as typeof items;
    }
  }
}
