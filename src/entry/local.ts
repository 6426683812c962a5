/**
 * `npm start`: both modules in one hapi server with embedded stores. The event log is
 * dynalite inside this process with its data under .data/ (or DYNAMODB_ENDPOINT when set); the
 * projections live in embedded PGlite under .data/ (or the Postgres of DATABASE_URL).
 */
import type { Plugin } from '@hapi/hapi';
import Validate from '@hapi/validate';
import type { Commit } from '../eventstore/index.ts';
import { commandModule } from '../modules/command/index.ts';
import { ProjectionFeed, Projector } from '../modules/projection/index.ts';
import { queryModule } from '../modules/query/index.ts';
import { authPlugin, developmentSecret } from '../shared/auth.ts';
import { originList, readConfig } from '../shared/config.ts';
import { createLogger, logLevelSetting } from '../shared/logging.ts';
import { documentation } from '../shared/openapi/documentation.ts';
import { startTracing } from '../shared/tracing.ts';
import { StartupError } from './database-wait.ts';
import { localStoreSettings, openLocalStores, pgliteOnBaselineCompiler } from './local-stores.ts';
import { serve } from './serve.ts';
import type { LocalStoreConfig } from './local-stores.ts';

interface LocalConfig extends LocalStoreConfig {
  readonly PORT: number;
  readonly HOST: string;
  readonly JWT_SECRET?: string;
  readonly LOG_LEVEL: string;
  readonly CORS_ORIGINS: readonly string[];
}

const config = readConfig<LocalConfig>(
  {
    ...localStoreSettings,
    PORT: Validate.number().port().default(3001),
    HOST: Validate.string().hostname().default('127.0.0.1'),
    JWT_SECRET: Validate.string().min(16),
    LOG_LEVEL: logLevelSetting,
    CORS_ORIGINS: originList(),
  },
  process.env,
);

const logger = createLogger({ level: config.LOG_LEVEL, destination: await terminal() });

/**
 * On a terminal the lines are printed by pino-pretty (a development tool: never in the images'
 * bundles, which have no terminal); piped or redirected they stay JSON.
 */
async function terminal() {
  if (!process.stdout.isTTY) return undefined;
  try {
    const { default: pretty } = await import('pino-pretty');
    return pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', singleLine: true });
  } catch {
    return undefined; // installed without development dependencies: JSON it is
  }
}

async function main() {
  const tracing = await startTracing(process.env);
  if (tracing) logger.info('tracing on: spans are exported as the OTEL_* settings say');
  if (!config.DATABASE_URL) pgliteOnBaselineCompiler();
  const stores = await openLocalStores(config, logger);
  const { eventStore, database } = stores;
  const projector = new Projector(database.db, eventStore);
  const feed = new ProjectionFeed(projector, { logger });

  let secret = config.JWT_SECRET;
  if (secret === undefined) {
    secret = developmentSecret;
    logger.warn('JWT_SECRET is not set: using the public development secret (fine locally, never in production)');
  }

  let caughtUp: Promise<void> = Promise.resolve();
  const server = await serve({
    port: config.PORT,
    host: config.HOST,
    logger,
    healthPaths: ['/command/v1/healthcheck', '/query/healthcheck'],
    corsOrigins: config.CORS_ORIGINS,
    fatal: stores.fault,
    plugins: [
      { plugin: authPlugin as Plugin<unknown>, options: { secret } },
      { plugin: commandModule as Plugin<unknown>, options: { eventStore, onAppended: (commit: Commit) => feed.deliver(commit) } },
      { plugin: queryModule as Plugin<unknown>, options: { db: database.db, projector } },
      { plugin: documentation },
    ],
    onStop: async () => {
      await caughtUp;
      await feed.stop();
      await stores.close();
      await tracing?.stop();
    },
  });
  logger.info({ documentation: `${server.info.uri}/documentation` }, 'OpenAPI description served');
  // Commits appended while the process was down (or before a crash) reach the projection now.
  caughtUp = feed.start();
}

main().catch((error: unknown) => {
  // A problem with the settings or the environment is one line that says what to do.
  if (error instanceof StartupError) logger.fatal(error.message);
  else logger.fatal({ err: error }, 'failed to start');
  process.exit(1);
});
