/**
 * `npm start`: both modules in one hapi server with embedded stores (SPEC §0). The event log is
 * dynalite inside this process with its data under .data/ (or DYNAMODB_ENDPOINT when set); the
 * projections live in embedded PGlite under .data/ (or the Postgres of DATABASE_URL).
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import Inert from '@hapi/inert';
import Vision from '@hapi/vision';
import HapiPino from 'hapi-pino';
import HapiSwagger from 'hapi-swagger';
import Joi from 'joi';
import pino from 'pino';
import { DynamoDbEventStore, createDynamoDbClient, ensureEventsTable } from '../eventstore/index.ts';
import { startLocalDynamoDb } from '../eventstore/local-dynalite.ts';
import type { LocalDynamoDb } from '../eventstore/local-dynalite.ts';
import type { Commit } from '../eventstore/index.ts';
import { commandModule } from '../modules/command/index.ts';
import { ProjectionFeed, Projector, migrate, openDatabase, queryModule } from '../modules/query/index.ts';
import { authPlugin, developmentSecret } from '../shared/auth.ts';
import { createHttpServer } from '../shared/http-server.ts';
import { readConfig } from '../shared/config.ts';
import { lockDataDir } from './data-dir-lock.ts';

interface LocalConfig {
  readonly PORT: number;
  readonly HOST: string;
  readonly DATA_DIR: string;
  readonly DYNAMODB_ENDPOINT?: string;
  readonly DATABASE_URL?: string;
  readonly DATABASE_SCHEMA: string;
  readonly EVENTS_TABLE: string;
  readonly JWT_SECRET?: string;
  readonly LOG_LEVEL: string;
}

const config = readConfig<LocalConfig>(
  {
    PORT: Joi.number().port().default(3001),
    HOST: Joi.string().hostname().default('127.0.0.1'),
    DATA_DIR: Joi.string().default('.data'),
    DYNAMODB_ENDPOINT: Joi.string().uri({ scheme: ['http', 'https'] }),
    DATABASE_URL: Joi.string().uri({ scheme: ['postgres', 'postgresql'] }),
    DATABASE_SCHEMA: Joi.string().pattern(/^[a-z_][a-z0-9_]{0,62}$/).default('projections'),
    EVENTS_TABLE: Joi.string().pattern(/^[A-Za-z0-9_.-]{3,255}$/).default('events'),
    JWT_SECRET: Joi.string().min(16),
    LOG_LEVEL: Joi.string().valid('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent').default('info'),
  },
  process.env,
);

const logger = pino({ level: config.LOG_LEVEL, redact: ['req.headers.authorization'] });

async function main() {
  const dataDir = resolve(config.DATA_DIR);
  const unlock = await lockDataDir(dataDir);
  let dynamo: LocalDynamoDb | undefined;
  let endpoint = config.DYNAMODB_ENDPOINT;
  if (endpoint === undefined) {
    await mkdir(join(dataDir, 'dynamodb'), { recursive: true });
    dynamo = await startLocalDynamoDb({ path: join(dataDir, 'dynamodb') });
    endpoint = dynamo.endpoint;
    logger.info({ path: join(dataDir, 'dynamodb') }, 'embedded DynamoDB (dynalite) started');
  }
  const client = createDynamoDbClient({ endpoint });
  const tableName = config.EVENTS_TABLE;
  if (await ensureEventsTable(client, tableName)) logger.info({ tableName }, 'created the events table');
  const eventStore = new DynamoDbEventStore({ client, tableName });

  const database = await openDatabase(
    config.DATABASE_URL
      ? { url: config.DATABASE_URL, schema: config.DATABASE_SCHEMA }
      : { dataDir: join(dataDir, 'pglite'), schema: config.DATABASE_SCHEMA },
  );
  await migrate(database.db, database.schema);
  logger.info(
    config.DATABASE_URL ? { database: 'postgres', schema: database.schema } : { database: 'pglite', path: join(dataDir, 'pglite') },
    'projection database ready',
  );
  const projector = new Projector(database.db, eventStore);
  const feed = new ProjectionFeed(projector, { logger });

  let secret = config.JWT_SECRET;
  if (secret === undefined) {
    secret = developmentSecret;
    logger.warn('JWT_SECRET is not set: using the public development secret (fine locally, never in production)');
  }

  const server = createHttpServer({ port: config.PORT, host: config.HOST });
  await server.register([
    { plugin: HapiPino, options: { instance: logger, ignorePaths: ['/command/v1/healthcheck', '/query/healthcheck'] } },
    { plugin: authPlugin, options: { secret } },
    { plugin: commandModule, options: { eventStore, onAppended: (commit: Commit) => feed.deliver(commit) } },
    { plugin: queryModule, options: { db: database.db, projector } },
    Inert,
    Vision,
    {
      plugin: HapiSwagger,
      options: {
        OAS: 'v3.0',
        documentationPath: '/documentation',
        info: { title: 'cqrs-es-example-ts', version: '1' },
        securityDefinitions: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
        security: [{ bearer: [] }],
        grouping: 'tags',
      },
    },
  ]);
  await server.start();
  logger.info({ url: server.info.uri, documentation: `${server.info.uri}/documentation` }, 'listening');
  // Commits appended while the process was down (or before a crash) reach the projection now.
  const caughtUp = feed.start();

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await server.stop({ timeout: 5_000 });
    await caughtUp;
    await feed.stop();
    await database.close();
    client.destroy();
    await dynamo?.close();
    await unlock();
    logger.info('stopped');
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((error: unknown) => {
  logger.fatal({ err: error }, 'failed to start');
  process.exit(1);
});
