/**
 * The command image's entry (Dockerfile.command): the write side alone, behind the Lambda Web
 * Adapter. Everything comes from the environment and is checked before listening.
 */
import type { Plugin } from '@hapi/hapi';
import { DynamoDbEventStore, createDynamoDbClient } from '../eventstore/index.ts';
import { commandModule } from '../modules/command/index.ts';
import { readServiceConfig, runService, serviceLogger } from './service.ts';
import type { ServiceConfig } from './service.ts';
import { userAuth, userAuthSchema } from './user-auth.ts';
import type { UserAuthConfig } from './user-auth.ts';

const config = readServiceConfig<ServiceConfig & UserAuthConfig>({}, [userAuthSchema]);
const logger = serviceLogger(config);
const client = createDynamoDbClient(config.DYNAMODB_ENDPOINT ? { endpoint: config.DYNAMODB_ENDPOINT } : {});
const eventStore = new DynamoDbEventStore({ client, tableName: config.EVENTS_TABLE });

runService({
  config,
  logger,
  plugins: [userAuth(config), { plugin: commandModule as Plugin<unknown>, options: { eventStore } }],
  onStop: async () => client.destroy(),
  healthPath: '/command/v1/healthcheck',
}).catch((error: unknown) => {
  logger.fatal({ err: error }, 'failed to start');
  process.exit(1);
});
