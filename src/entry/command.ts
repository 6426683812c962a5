/**
 * The command image's entry (Dockerfile.command): the write side alone, behind the Lambda Web
 * Adapter. Everything comes from the environment and is checked before listening.
 */
import type { Plugin } from '@hapi/hapi';
import { DynamoDbEventStore, createDynamoDbClient } from '../eventstore/index.ts';
import { commandModule } from '../modules/command/index.ts';
import { readServiceConfig, runService, serviceLogger } from './service.ts';

const config = readServiceConfig();
const logger = serviceLogger(config);
const client = createDynamoDbClient(config.DYNAMODB_ENDPOINT ? { endpoint: config.DYNAMODB_ENDPOINT } : {});
const eventStore = new DynamoDbEventStore({ client, tableName: config.EVENTS_TABLE });

runService(
  config,
  logger,
  [{ plugin: commandModule as Plugin<unknown>, options: { eventStore } }],
  async () => client.destroy(),
  '/command/v1/healthcheck',
).catch((error: unknown) => {
  logger.fatal({ err: error }, 'failed to start');
  process.exit(1);
});
