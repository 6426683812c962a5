/**
 * The command image's entry (Dockerfile.command): the write side alone, behind the Lambda Web
 * Adapter. Everything comes from the environment and is checked before listening.
 */
import type { Plugin } from '@hapi/hapi';
import { lazyDynamoDbEventStore } from '../eventstore/index.ts';
import { commandModule } from '../modules/command/index.ts';
import { readServiceConfig, runService, serviceLogger } from './service.ts';
import type { ServiceConfig } from './service.ts';
import { userAuth, userAuthSchema } from './user-auth.ts';
import type { UserAuthConfig } from './user-auth.ts';

/** Reads the settings and starts the service (the bundle's index.mjs, command.main.ts, calls it). */
export async function start(): Promise<void> {
  const config = readServiceConfig<ServiceConfig & UserAuthConfig>({}, [userAuthSchema]);
  const logger = serviceLogger(config);
  // The AWS SDK loads with the first DynamoDB call: the readiness check makes none.
  const eventStore = lazyDynamoDbEventStore({ tableName: config.EVENTS_TABLE, ...(config.DYNAMODB_ENDPOINT ? { endpoint: config.DYNAMODB_ENDPOINT } : {}) });
  await runService({
    config,
    logger,
    plugins: [userAuth(config), { plugin: commandModule as Plugin<unknown>, options: { eventStore } }],
    onStop: () => eventStore.close(),
    healthPath: '/command/v1/healthcheck',
  }).catch((error: unknown) => {
    logger.fatal({ err: error }, 'failed to start');
    process.exit(1);
  });
}
