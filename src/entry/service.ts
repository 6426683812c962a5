import type { ServerRegisterPluginObject } from '@hapi/hapi';
import type Joi from 'joi';
import Validate from '@hapi/validate';
import type { Logger } from 'pino';
import { httpUrl, readConfig, settings } from '../shared/config.ts';
import { createLogger, logLevelSetting } from '../shared/logging.ts';
import { startTracing } from '../shared/tracing.ts';
import { serve } from './serve.ts';

/** Settings every deployed service reads (the images set PORT; the stack sets the rest). */
export interface ServiceConfig {
  readonly PORT: number;
  readonly HOST: string;
  readonly LOG_LEVEL: string;
  readonly EVENTS_TABLE: string;
  readonly DYNAMODB_ENDPOINT?: string;
}

export const serviceSettings = {
  // 3000 and 9001 are taken inside Lambda (runtime API, adapter).
  PORT: Validate.number().port().invalid(3000, 9001).default(8080),
  HOST: Validate.string().default('0.0.0.0'),
  LOG_LEVEL: logLevelSetting,
  EVENTS_TABLE: settings.eventsTable.required(),
  DYNAMODB_ENDPOINT: httpUrl(),
};

/** Reads the service's settings before anything starts; a bad one stops the process with one line. */
export function readServiceConfig<T extends ServiceConfig>(extra: Record<string, Joi.Schema> = {}, checks: readonly Joi.ObjectSchema[] = []): T {
  let config = readConfig<T>(Validate.object({ ...serviceSettings, ...extra }), process.env);
  for (const schema of checks) config = { ...config, ...readConfig<object>(schema, process.env) };
  return config;
}

/** Starts one deployed service (see `serve`). */
export async function runService(options: {
  readonly config: ServiceConfig;
  readonly logger: Logger;
  readonly plugins: ServerRegisterPluginObject<unknown>[];
  readonly onStop: () => Promise<void>;
  readonly healthPath: string;
}): Promise<void> {
  const { config, logger } = options;
  // Before the server exists: its hooks record spans only when tracing was on when it was made.
  const tracing = await startTracing(process.env);
  await serve({
    port: config.PORT,
    host: config.HOST,
    logger,
    plugins: options.plugins,
    healthPaths: [options.healthPath],
    onStop: async () => {
      await options.onStop();
      await tracing?.stop();
    },
  });
}

export function serviceLogger(config: ServiceConfig): Logger {
  return createLogger({ level: config.LOG_LEVEL });
}
