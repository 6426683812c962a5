import { errorExample, everyRequestParameters, everyResponseHeaderRefs, sharedHeaders } from './responses.ts';
import type { ErrorStatus } from './responses.ts';

/**
 * The one place where hapi-swagger's output becomes the description the service stands by.
 * hapi-swagger turns the routes' joi schemas and `documented(...)` options into OpenAPI 3.0, but
 * leaves a few things that no route option reaches:
 * - joi's `guid()` / `isoDate()` come out as `x-format: {guid}` / `{isoDate}`, not `format`;
 * - every array and enum becomes a component named after its property (`items`, `role`) or
 *   `ModelN`; only labelled objects deserve a name, the rest is inlined where it is used;
 * - a DELETE route's "no body allowed" schema becomes a request body, and the bodies the other
 *   routes require are not marked required;
 * - a route's `produces` applies to its error answers too (the health routes answer text, their
 *   errors JSON), and no error answer gets an example;
 * - headers that every answer carries (src/shared/http-server.ts) and that every request may
 *   carry (its id, trace context) are nobody's route option.
 * Pure: a document in, a new document out (src/shared/openapi/document.test.ts).
 */

type Json = Record<string, unknown>;

const formats: Readonly<Record<string, string>> = { guid: 'uuid', uuid: 'uuid', isoDate: 'date-time', email: 'email', uri: 'uri', hostname: 'hostname' };
const errorRef = '#/components/schemas/Error';
const refPrefix = '#/components/schemas/';
const methods = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** `idempotency-key` → `Idempotency-Key`: headers are named as docs/api.md and the README write them. */
const headerName = (name: string) => name.replace(/(^|-)([a-z])/g, (_all, dash: string, letter: string) => dash + letter.toUpperCase());

export function finishDocument(source: Json): Json {
  const document = structuredClone(source);
  const components = (document.components ?? {}) as Json;
  const schemas = (components.schemas ?? {}) as Record<string, Json>;

  // Only named objects stay components; arrays, enums and plain values are inlined.
  const inlined = new Set(Object.keys(schemas).filter((name) => schemas[name]!.type !== 'object' || schemas[name]!.properties === undefined));
  const resolve = (value: unknown, seen: readonly string[] = []): unknown => {
    if (Array.isArray(value)) return value.map((item) => resolve(item, seen));
    if (!isObject(value)) return value;
    const ref = value.$ref;
    if (typeof ref === 'string' && ref.startsWith(refPrefix)) {
      const name = ref.slice(refPrefix.length);
      if (inlined.has(name) && !seen.includes(name)) return resolve(schemas[name], [...seen, name]);
    }
    const out: Json = {};
    for (const [key, item] of Object.entries(value)) {
      if (key === 'x-format' && isObject(item)) {
        const format = Object.keys(item).map((rule) => formats[rule]).find((found) => found !== undefined);
        if (format !== undefined) out.format = format;
      } else if (key !== 'x-convert' && key !== 'x-meta') {
        out[key] = resolve(item, seen);
      }
    }
    return out;
  };

  const paths = resolve(document.paths ?? {}) as Record<string, Json>;
  for (const [, operations] of Object.entries(paths)) {
    for (const method of methods) {
      const operation = operations[method];
      if (!isObject(operation)) continue;
      // A DELETE takes no body: its schema only refuses one.
      if (method === 'delete') delete operation.requestBody;
      // A body a route validates is one it requires: without one the answer is 400.
      else if (isObject(operation.requestBody)) operation.requestBody.required = true;
      const parameters = ((operation.parameters ?? []) as Json[]).map((parameter) =>
        parameter.in === 'header' ? { ...parameter, name: headerName(parameter.name as string) } : parameter,
      );
      for (const [key, common] of Object.entries(everyRequestParameters)) {
        if (!parameters.some((parameter) => parameter.in === 'header' && parameter.name === common.name)) {
          parameters.push({ $ref: `#/components/parameters/${key}` });
        }
      }
      operation.parameters = parameters;
      for (const [status, response] of Object.entries((operation.responses ?? {}) as Record<string, Json>)) {
        response.headers = { ...everyResponseHeaderRefs, ...(response.headers as Json | undefined) };
        const content = response.content as Record<string, Json> | undefined;
        const schema = content && Object.values(content)[0]?.schema;
        if (isObject(schema) && schema.$ref === errorRef) {
          // An error is always JSON, whatever its route answers on success.
          response.content = { 'application/json': { schema: { $ref: errorRef }, example: errorExample(Number(status) as ErrorStatus) } };
        }
      }
    }
  }
  document.paths = paths;

  // Keep the named schemas the operations reach (not the DELETE routes' dropped bodies).
  const named: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(schemas)) if (!inlined.has(name)) named[name] = resolve(schema);
  const kept: Record<string, unknown> = {};
  const pending = refsIn(document.paths);
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    if (Object.hasOwn(kept, name) || !Object.hasOwn(named, name)) continue;
    kept[name] = named[name];
    pending.push(...refsIn(named[name]));
  }
  document.components = { ...components, schemas: kept, headers: sharedHeaders, parameters: everyRequestParameters };
  return document;
}

function refsIn(value: unknown): string[] {
  return [...JSON.stringify(value).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((match) => match[1]!);
}
