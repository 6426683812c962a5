import Joi from 'joi';

/**
 * Reads and checks configuration from the environment before anything starts. A missing or
 * malformed variable stops the process with one line that names it.
 */
export function readConfig<T>(
  keys: Record<keyof T, Joi.Schema> | Joi.ObjectSchema<T>,
  env: NodeJS.ProcessEnv,
  exit: (message: string) => never = fail,
): T {
  const schema = Joi.isSchema(keys) ? (keys as Joi.ObjectSchema<T>) : Joi.object(keys as Record<string, Joi.Schema>);
  const { error, value } = schema.unknown(true).validate(env, { abortEarly: true, convert: true });
  if (error) exit(`configuration error: ${error.message}`);
  return value as T;
}

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}
