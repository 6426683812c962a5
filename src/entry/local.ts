/**
 * `npm start`: both modules in one hapi server with embedded stores (SPEC §0). The event log is
 * dynalite inside this process with its data under .data/ (or DYNAMODB_ENDPOINT when set).
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
import { commandModule } from '../modules/command/index.ts';
import { authPlugin, developmentSecret } from '../shared/auth.ts';
import { createHttpServer } from '../shared/http-server.ts';
import { readConfig } from '../shared/config.ts';
import { lockDataDir } from './data-dir-lock.ts';

interface LocalConfig {
  readonly PORT: number;
  readonly HOST: string;
  readonly DATA_DIR: string;
  readonly DYNAMODB_ENDPOINT?: string;
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

  let secret = config.JWT_SECRET;
  if (secret === undefined) {
    secret = developmentSecret;
    logger.warn('JWT_SECRET is not set: using the public development secret (fine locally, never in production)');
  }

  const server = createHttpServer({ port: config.PORT, host: config.HOST });
  await server.register([
    { plugin: HapiPino, options: { instance: logger, ignorePaths: ['/command/v1/healthcheck', '/query/healthcheck'] } },
    { plugin: authPlugin, options: { secret } },
    { plugin: commandModule, options: { eventStore } },
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

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await server.stop({ timeout: 5_000 });
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
