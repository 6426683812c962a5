import type { ServerRegisterPluginObject } from '@hapi/hapi';
import Joi from 'joi';
import type { Logger } from 'pino';
import type { AuthOptions } from '../shared/auth.ts';
import { readConfig } from '../shared/config.ts';
import { createLogger } from '../shared/logging.ts';
import { serve } from './serve.ts';

/** Settings every deployed service reads (the images set PORT; the stack sets the rest). */
export interface ServiceConfig {
  readonly PORT: number;
  readonly HOST: string;
  readonly LOG_LEVEL: string;
  readonly EVENTS_TABLE: string;
  readonly DYNAMODB_ENDPOINT?: string;
  readonly JWT_SECRET?: string;
  readonly JWT_JWKS_URL?: string;
  readonly JWT_ISSUER?: string;
  readonly JWT_AUDIENCE?: string;
}

export const serviceSettings = {
  // 3000 and 9001 are taken inside Lambda (runtime API, adapter).
  PORT: Joi.number().port().invalid(3000, 9001).default(8080),
  HOST: Joi.string().default('0.0.0.0'),
  LOG_LEVEL: Joi.string().valid('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent').default('info'),
  EVENTS_TABLE: Joi.string().pattern(/^[A-Za-z0-9_.-]{3,255}$/).required(),
  DYNAMODB_ENDPOINT: Joi.string().uri({ scheme: ['http', 'https'] }),
  JWT_SECRET: Joi.string().min(16),
  JWT_JWKS_URL: Joi.string().uri({ scheme: ['https', 'http'] }),
  JWT_ISSUER: Joi.string(),
  JWT_AUDIENCE: Joi.string(),
};

/** Reads the service's settings; exactly one of JWT_SECRET and JWT_JWKS_URL must be set. */
export function readServiceConfig<T extends ServiceConfig>(extra: Record<string, Joi.Schema> = {}): T {
  return readConfig<T>(
    Joi.object({ ...serviceSettings, ...extra })
      .xor('JWT_SECRET', 'JWT_JWKS_URL')
      .messages({ 'object.missing': 'set JWT_JWKS_URL (or JWT_SECRET outside AWS)' }) as Joi.ObjectSchema<T>,
    process.env,
  );
}

export function authOptions(config: ServiceConfig): AuthOptions {
  return config.JWT_JWKS_URL
    ? {
        jwksUrl: config.JWT_JWKS_URL,
        ...(config.JWT_ISSUER ? { issuer: config.JWT_ISSUER } : {}),
        ...(config.JWT_AUDIENCE ? { audience: config.JWT_AUDIENCE } : {}),
      }
    : { secret: config.JWT_SECRET! };
}

/** Starts one deployed service (see `serve`), with auth configured from its settings. */
export async function runService(
  config: ServiceConfig,
  logger: Logger,
  plugins: ServerRegisterPluginObject<unknown>[],
  onStop: () => Promise<void>,
  healthPath: string,
): Promise<void> {
  await serve({ port: config.PORT, host: config.HOST, logger, auth: authOptions(config), plugins, healthPaths: [healthPath], onStop });
}

export function serviceLogger(config: ServiceConfig): Logger {
  return createLogger({ level: config.LOG_LEVEL });
}
