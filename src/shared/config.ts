import type Joi from 'joi';
import Validate from '@hapi/validate';
import { parseOrigins } from './cors.ts';

/**
 * Reads and checks configuration from the environment before anything starts. A missing or
 * malformed variable stops the process with one line that names it. The schemas are
 * `@hapi/validate`'s, which hapi loads anyway: joi itself is not evaluated before a deployed
 * service listens (its routes load their joi schemas on first use).
 */
export function readConfig<T>(
  keys: Record<keyof T, Joi.Schema> | Joi.ObjectSchema<T>,
  env: NodeJS.ProcessEnv,
  exit: (message: string) => never = fail,
): T {
  const schema = Validate.isSchema(keys) ? (keys as Joi.ObjectSchema<T>) : Validate.object(keys as Record<string, Joi.Schema>);
  const { error, value } = schema.unknown(true).validate(env, { abortEarly: true, convert: true });
  if (error) exit(`configuration error: ${error.message}`);
  return value as T;
}

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

/**
 * An http(s) URL setting, read by the WHATWG URL parser. Joi's `string().uri()` builds a large
 * regular expression on first use, per scheme list (about 25 ms of a cold start for the two
 * checks a JWKS deployment makes); `new URL` is already there and is what the clients use.
 * Messages as joi's `uri()` words them.
 */
const uriMessages = {
  'string.uri': '{{#label}} must be a valid uri',
  'string.uriCustomScheme': '{{#label}} must be a valid uri with a scheme matching the {{#scheme}} pattern',
};

export function httpUrl(): Joi.StringSchema {
  return Validate.string().custom((value: string, helpers) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return helpers.error('string.uri');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return helpers.error('string.uriCustomScheme', { scheme: 'https|http' });
    return value;
  }).messages(uriMessages);
}

/** A comma-separated list of exact origins (src/shared/cors.ts); unset or empty is none. */
export function originList(): Joi.Schema {
  return Validate.string()
    .empty('')
    .default([])
    .custom((value: string, helpers) => {
      const parsed = parseOrigins(value);
      return 'error' in parsed ? helpers.error('origins.invalid', { reason: parsed.error }) : parsed.origins;
    })
    .messages({ 'origins.invalid': '{{#label}}: {{#reason}}' });
}

/** A Postgres schema name the service creates and names in SQL: a plain lowercase identifier. */
export const schemaNamePattern = /^[a-z_][a-z0-9_]{0,62}$/;
export const defaultDatabaseSchema = 'projections';

/** The settings every entry that reads them shares, checked the same way everywhere. */
export const settings = {
  /** EVENTS_TABLE: a DynamoDB table name. */
  eventsTable: Validate.string().pattern(/^[A-Za-z0-9_.-]{3,255}$/),
  /** DATABASE_SCHEMA: the schema of the projection tables. */
  databaseSchema: Validate.string().pattern(schemaNamePattern).default(defaultDatabaseSchema),
};
