import type { Server } from '@hapi/hapi';
import type { AnySchema, Root, Schema, ValidationOptions } from 'joi';

/**
 * A route's joi schema, loaded on the first request that needs it rather than when the route is
 * registered: joi costs a cold start some 35 ms of CPU to evaluate, and a deployed service must
 * answer its readiness check before that. hapi takes a function as a route's validation; this one
 * loads the real schema (a module of schemas imported on demand, in a chunk of its own in the
 * bundles), then validates with it as hapi would have: the same values, the same errors, so a 400
 * names the same field. `resolveLazySchemas` puts the real schemas in place for
 * the API description (hapi-swagger reads them from the routes).
 *
 * With `now`, a schema of `@hapi/validate` (loaded with hapi anyway) validates instead, and the
 * joi schema only describes the route: for what must answer before joi is loaded (the health
 * routes).
 */
export interface LazySchema<T = unknown> {
  (value: unknown, options?: ValidationOptions): Promise<unknown>;
  readonly [lazy]: () => Promise<Schema<T>>;
}

const lazy = Symbol('lazy joi schema');

export function lazySchema<T>(load: () => Promise<Schema<T>>, options: { now?: Schema } = {}): LazySchema<T> {
  let loaded: Promise<Schema<T>> | undefined;
  const resolve = () => {
    loaded ??= load().catch((error: unknown) => {
      loaded = undefined;
      throw error;
    });
    return loaded;
  };
  const { now } = options;
  // A validation function to hapi (it calls it where it would call a schema's `validateAsync`).
  const validate = now
    ? (value: unknown, validation?: ValidationOptions) => now.validateAsync(value, validation)
    : async (value: unknown, validation?: ValidationOptions) => (await resolve()).validateAsync(value, validation);
  return Object.assign(validate, { [lazy]: resolve });
}

/**
 * Picks schemas out of a module loaded on first use: `const schema = lazySchemas(() => import('./x.schemas.ts'))`,
 * then `schema((s) => s.body)` for each. The module is imported once, by whichever schema is needed first.
 */
export function lazySchemas<M>(load: () => Promise<M>): <T>(pick: (module: M) => AnySchema<T>) => LazySchema<T> {
  let loaded: Promise<M> | undefined;
  const module = () => {
    loaded ??= load().catch((error: unknown) => {
      loaded = undefined;
      throw error;
    });
    return loaded;
  };
  return (pick) => lazySchema(async () => pick(await module()));
}

/** joi itself, loaded on first use (a chunk of its own in the bundles). */
export async function loadJoi(): Promise<Root> {
  return (await import('joi')).default;
}

export function isLazySchema(value: unknown): value is LazySchema<unknown> {
  return typeof value === 'function' && lazy in value;
}

const sources = ['headers', 'params', 'query', 'payload', 'state'] as const;

/** Replaces every lazy schema of the server's routes with the joi schema it stands for (for the API description). */
export async function resolveLazySchemas(server: Server): Promise<void> {
  for (const route of server.table()) {
    const validate = route.settings.validate as Record<string, unknown> | undefined;
    for (const source of sources) {
      const value = validate?.[source];
      if (isLazySchema(value)) validate![source] = await value[lazy]();
    }
    const status = route.settings.response?.status as Record<string, unknown> | undefined;
    for (const code of Object.keys(status ?? {})) {
      const value = status![code];
      if (isLazySchema(value)) status![code] = await value[lazy]();
    }
    // The error answers of `documented(...)`.
    const responses = (route.settings.plugins as Record<string, { responses?: Record<string, { schema?: unknown }> } | undefined> | undefined)?.['hapi-swagger']?.responses;
    for (const response of Object.values(responses ?? {})) {
      if (isLazySchema(response.schema)) response.schema = await response.schema[lazy]();
    }
  }
}
