import { join, resolve } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import type Joi from 'joi';
import Validate from '@hapi/validate';
import { httpUrl, settings } from '../shared/config.ts';
import type { Logger } from 'pino';
import { ensureEventsTable } from '../eventstore/events-table.ts';
import { DynamoDbEventStore, createDynamoDbClient } from '../eventstore/dynamodb-event-store.ts';
import { startLocalDynamoDb } from '../eventstore/local-dynalite.ts';
import { migrate, openDatabase } from '../modules/projection/index.ts';
import type { ProjectionDatabase } from '../modules/projection/index.ts';
import { databaseUrl } from './database-settings.ts';
import { StartupError, waitForDatabase } from './database-wait.ts';
import { lockDataDir } from './data-dir-lock.ts';

/** Where local mode keeps its data: embedded stores under DATA_DIR unless real ones are named. */
export interface LocalStoreConfig {
  readonly DATA_DIR: string;
  readonly DYNAMODB_ENDPOINT?: string;
  readonly EVENTS_TABLE: string;
  readonly DATABASE_URL?: string;
  readonly DATABASE_SCHEMA: string;
  readonly DATABASE_WAIT_SECONDS: number;
}

export const localStoreSettings = {
  DATA_DIR: Validate.string().default('.data'),
  DYNAMODB_ENDPOINT: httpUrl(),
  EVENTS_TABLE: settings.eventsTable.default('events'),
  DATABASE_URL: databaseUrl,
  DATABASE_SCHEMA: settings.databaseSchema,
  DATABASE_WAIT_SECONDS: Validate.number().integer().min(0).max(3_600).default(30),
} satisfies Record<keyof LocalStoreConfig, Joi.Schema>;

export interface LocalStores {
  readonly eventStore: DynamoDbEventStore;
  readonly database: ProjectionDatabase;
  /** Why the process must stop, when an error that escaped is a fault of an embedded store's files. */
  fault(error: unknown): string | undefined;
  close(): Promise<void>;
}

/**
 * Embedded PGlite's WebAssembly (a 10 MB module: Postgres itself) runs on V8's baseline compiler
 * (Liftoff) only. By default V8 recompiles the functions that get hot with its optimising
 * compiler, on background threads whose working memory and the second copy of the code stay
 * in the process: about 75 MB more RSS for `npm start`, idle and under load, and more CPU per
 * request than the optimised code wins back in a process of this lifetime (BENCHMARKS.md,
 * "npm start memory"). The flag applies to
 * WebAssembly compiled from then on, so `npm start` calls this before it opens its stores (the
 * rebuild, a bulk job, keeps the optimising compiler).
 */
export function pgliteOnBaselineCompiler(): void {
  setFlagsFromString('--liftoff-only');
}

/**
 * Opens the event log and the projection database for `npm start` and the command-line tools:
 * dynalite and PGlite under DATA_DIR (locked against a second process), or the endpoints the
 * environment names. The events table is created and the projections migrated when needed.
 */
export async function openLocalStores(
  config: LocalStoreConfig,
  logger: Logger,
  options: { readonly queryTimeoutMs?: number } = {},
  /** Called once an embedded store can no longer write (a full disk): the process must stop. */
  onFault: (reason: string, error: Error) => void = (reason, error) => {
    logger.fatal({ err: error }, reason);
    process.exit(1);
  },
): Promise<LocalStores> {
  const dataDir = resolve(config.DATA_DIR);
  const embedded = config.DYNAMODB_ENDPOINT === undefined || config.DATABASE_URL === undefined;
  const unlock = embedded ? await lockDataDir(dataDir) : async () => undefined;
  const closers: (() => Promise<void>)[] = [unlock];
  const close = async () => {
    for (const closer of closers.reverse()) await closer();
  };
  let fault: LocalStores['fault'] = () => undefined;
  try {
    let endpoint = config.DYNAMODB_ENDPOINT;
    const inProcess = endpoint === undefined;
    if (endpoint === undefined) {
      const path = join(dataDir, 'dynamodb');
      const dynamo = await startLocalDynamoDb({ path });
      fault = (error) => dynamo.fault(error);
      closers.push(() => dynamo.close());
      endpoint = dynamo.endpoint;
      logger.info({ path }, 'embedded DynamoDB (dynalite) started');
    }
    const client = createDynamoDbClient({ endpoint, inProcess });
    closers.push(async () => client.destroy());
    if (await ensureEventsTable(client, config.EVENTS_TABLE)) logger.info({ tableName: config.EVENTS_TABLE }, 'created the events table');
    const eventStore = new DynamoDbEventStore({ client, tableName: config.EVENTS_TABLE });

    const pglitePath = join(dataDir, 'pglite');
    const database = config.DATABASE_URL
      ? await openDatabase({ url: config.DATABASE_URL, schema: config.DATABASE_SCHEMA, ...options })
      : await openEmbeddedDatabase(pglitePath, config.DATABASE_SCHEMA, (error) =>
          onFault(`the projection database in ${pglitePath} cannot be written (${error.message}): stopping. Free space, then start again; the event log keeps every acknowledged write`, error),
        );
    closers.push(() => database.close());
    if (config.DATABASE_URL) {
      const url = config.DATABASE_URL;
      await waitForDatabase(() => migrate(database.db, database.schema), { url, logger, waitMs: config.DATABASE_WAIT_SECONDS * 1000 });
    } else {
      await migrate(database.db, database.schema);
    }
    logger.info(
      config.DATABASE_URL ? { database: 'postgres', schema: database.schema } : { database: 'pglite', path: pglitePath },
      'projection database ready',
    );
    return { eventStore, database, fault, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * The embedded projection database under DATA_DIR. A folder PGlite cannot open (left damaged by
 * a full disk, say) stops the start with one line: it holds nothing the event log cannot give
 * back, so the way out is to remove it.
 */
async function openEmbeddedDatabase(path: string, schema: string, onFault: (error: Error) => void): Promise<ProjectionDatabase> {
  try {
    return await openDatabase({ dataDir: path, schema, onFault });
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n', 1)[0] : String(error);
    throw new StartupError(
      `the embedded projection database in ${path} cannot be opened (${reason}). It holds only what the event log rebuilds: remove it (rm -rf ${path}) and start again`,
      { cause: error },
    );
  }
}
