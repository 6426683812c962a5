import { v7 as uuidv7 } from 'uuid';

/**
 * The operations of the served description, and requests made from it alone: the cross-cutting
 * suites (the route probes, src/testing/route-probes.ts; the contract test; the fuzzer) probe every route the service
 * describes without naming one, so a new route is covered as soon as it is served.
 */

/** The served `/openapi.json`, as far as the tests read it. */
export type OpenApiDocument = Record<string, unknown> & {
  paths: Record<string, Record<string, { operationId: string; responses: Record<string, unknown>; requestBody?: unknown; security?: unknown[] }>>;
  components: { schemas: Record<string, unknown>; headers: Record<string, unknown>; parameters: Record<string, unknown> };
};

export interface Schema {
  readonly $ref?: string;
  readonly type?: string;
  readonly format?: string;
  readonly enum?: readonly unknown[];
  readonly minLength?: number;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly example?: unknown;
  readonly properties?: Record<string, Schema>;
  readonly required?: readonly string[];
}

export type Operation = OpenApiDocument['paths'][string][string] & {
  parameters?: ({ name: string; in: string; schema?: Schema } | { $ref: string })[];
};

export interface DescribedOperation {
  readonly path: string;
  /** Upper case, as sent. */
  readonly method: string;
  readonly operation: Operation;
  /** The statuses it documents. */
  readonly statuses: readonly number[];
  /** The names of its path parameters, in order. */
  readonly pathParameters: readonly string[];
  /** Its query parameters (`?limit=&before=`), by name, with their schemas. */
  readonly queryParameters: Readonly<Record<string, Schema>>;
  /** A body its schema accepts, or undefined when it takes none. */
  readonly sampleBody: Record<string, unknown> | undefined;
  /**
   * The same, for a prepared situation: a UUID property named like one of `values` (a
   * `messageId` in the body) names that existing thing rather than a random one.
   */
  bodyFor(values: Readonly<Record<string, string>>): Record<string, unknown> | undefined;
  /**
   * `bodyFor(values)` and, for each property with an enum or a boolean, the same body with each
   * other value of it: what a refusal that does not depend on the body must refuse whatever the body.
   */
  bodiesFor(values: Readonly<Record<string, string>>): Record<string, unknown>[];
}

/** The things of a prepared situation a route's path can name. */
export interface Situation {
  readonly chat: string;
  readonly message: string;
  readonly member: string;
}

/**
 * What each path parameter names, by its name: a parameter with a new name is given its thing
 * here, once, for every suite that takes the routes from the description.
 */
const parameterThings: Readonly<Record<string, keyof Situation>> = { id: 'chat', messageId: 'message', userId: 'member' };

/** The value of each path parameter in a situation (for `fillPath`). */
export const pathValues = (situation: Situation): Record<string, string> =>
  Object.fromEntries(Object.entries(parameterThings).map(([name, thing]) => [name, situation[thing]]));

/** The names of `path`'s `{parameters}`, in order. */
const parameterNames = (path: string): string[] => [...path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]!);

/** The names of the path parameters of `path` that name a `thing` (a suite's probes of a message id, say). */
export const parametersNaming = (path: string, thing: keyof Situation): string[] => parameterNames(path).filter((name) => parameterThings[name] === thing);

/** The path parameters of `path` that name nothing known: a suite fails naming them. */
export const unknownParameters = (path: string): string[] => parameterNames(path).filter((name) => !Object.hasOwn(parameterThings, name));

/** Every operation of the description under /command/v1/ and /query/v1/ (health routes aside). */
export function describedOperations(document: OpenApiDocument): DescribedOperation[] {
  return Object.entries(document.paths)
    .filter(([path]) => /^\/(command|query)\/v1\//.test(path) && !path.endsWith('/healthcheck'))
    .flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, described]) => {
        const operation = described as Operation;
        const bodySchema = (operation.requestBody as { content?: Record<string, { schema: Schema }> } | undefined)?.content?.['application/json']?.schema;
        const where = `${method.toUpperCase()} ${path} body`;
        const bodyFor = (values: Readonly<Record<string, string>>) => (bodySchema ? (sample(bodySchema, document, where, values) as Record<string, unknown>) : undefined);
        const queryParameters = Object.fromEntries(
          (operation.parameters ?? []).flatMap((p) => ('name' in p && p.in === 'query' ? [[p.name, resolve(p.schema ?? {}, document)] as const] : [])),
        );
        return {
          path,
          method: method.toUpperCase(),
          operation,
          statuses: Object.keys(operation.responses).map(Number),
          pathParameters: parameterNames(path),
          queryParameters,
          sampleBody: bodyFor({}),
          bodyFor,
          bodiesFor: (values) => {
            const body = bodyFor(values);
            if (!body || !bodySchema) return body ? [body] : [];
            const properties = resolve(bodySchema, document).properties ?? {};
            const otherValues = (property: Schema): readonly unknown[] => resolve(property, document).enum ?? (resolve(property, document).type === 'boolean' ? [true, false] : []);
            const variants = Object.entries(properties).flatMap(([name, property]) =>
              otherValues(property).filter((value) => value !== body[name]).map((value) => ({ ...body, [name]: value })),
            );
            return [body, ...variants];
          },
        };
      }),
    );
}

/**
 * A value its schema accepts: required properties only, the first of an enum, the shortest
 * string, a number's example (else one above its minimum, within its maximum: a minimum is often
 * what a thing starts with, so setting it would be no change); a UUID property named like one of
 * `values` takes that value.
 */
export function sample(schema: Schema, document: OpenApiDocument, where: string, values: Readonly<Record<string, string>> = {}): unknown {
  if (schema.$ref) return sample(resolve(schema, document), document, where, values);
  if (schema.enum) return schema.enum[0];
  switch (schema.type) {
    case 'object':
      return Object.fromEntries(
        (schema.required ?? []).map((name) => {
          const property = resolve(schema.properties?.[name] ?? {}, document);
          const named = property.format === 'uuid' && Object.hasOwn(values, name) ? values[name] : undefined;
          return [name, named ?? sample(property, document, `${where}.${name}`)];
        }),
      );
    case 'string':
      return schema.format === 'uuid' ? uuidv7() : 'probe'.padEnd(schema.minLength ?? 1, 'e');
    case 'integer':
    case 'number':
      if (typeof schema.example === 'number') return schema.example;
      return schema.minimum === undefined ? 1 : Math.min(schema.minimum + 1, schema.maximum ?? Infinity);
    case 'boolean':
      return true;
    default:
      throw new Error(`${where}: no sample for a schema of type ${String(schema.type)}`);
  }
}

const resolve = (schema: Schema, document: OpenApiDocument): Schema =>
  schema.$ref ? resolve(document.components.schemas[schema.$ref.replace('#/components/schemas/', '')] as Schema, document) : schema;

/** `path` with each `{name}` replaced by `values[name]`; a name without a value is named in the URL. */
export const fillPath = (path: string, values: Readonly<Record<string, string>>): string =>
  path.replace(/\{(\w+)\}/g, (_, name: string) => (values[name] === undefined ? `{no probe value for ${name}}` : encodeURIComponent(values[name])));
