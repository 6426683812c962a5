import type { Root } from 'joi';
import { lazySchema, loadJoi } from '../lazy-schema.ts';

/**
 * The pieces of the API description that routes share: the error body, the headers answers
 * carry, and what each error status means. Routes name the statuses they can answer
 * (`documented(...)` in their `plugins`); the description is generated from that, and the
 * contract test (src/shared/openapi/contract.test.ts) fails when a route answers a status it
 * does not name. Plain data, and joi schemas loaded on first use: this ships in the Lambda bundles.
 *
 * @example
 * options: { plugins: documented({ 200: 'Renamed', errors: [400, 401, 404, 503], headers: { ETag: etag } }) }
 */

/** An OpenAPI 3.0 header object. */
export interface HeaderObject {
  readonly description: string;
  readonly schema: Readonly<Record<string, unknown>>;
  readonly required?: boolean;
}

/** Every response carries these (src/shared/http-server.ts). */
export const everyResponseHeaders: Readonly<Record<string, HeaderObject>> = {
  'X-Request-Id': {
    description: "Names this request in the logs: the caller's own X-Request-Id when it is well formed, else one the service chose",
    schema: { type: 'string', maxLength: 128, example: '0195f3c4-7b1e-7cc2-9d1a-3f6a2b4c5d6e' },
    required: true,
  },
  'X-Content-Type-Options': { description: 'Always nosniff', schema: { type: 'string', enum: ['nosniff'] }, required: true },
};

/** Headers every request may carry (components.parameters): the request id and trace context. */
export const everyRequestParameters: Readonly<Record<string, Readonly<Record<string, unknown>>>> = {
  RequestId: {
    name: 'X-Request-Id',
    in: 'header',
    required: false,
    description: 'Up to 128 characters of A-Z a-z 0-9 . _ : = + -; names the request in the logs and comes back in the answer',
    schema: { type: 'string', maxLength: 128, pattern: '^[A-Za-z0-9._:=+-]{1,128}$' },
  },
  Traceparent: {
    name: 'traceparent',
    in: 'header',
    required: false,
    description: "W3C trace context: with tracing on (OTEL_* settings), the request's spans join this trace",
    schema: { type: 'string', example: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
  },
  AmznTraceId: {
    name: 'X-Amzn-Trace-Id',
    in: 'header',
    required: false,
    description: "AWS X-Ray trace header: with tracing on, the request's spans join this trace",
    schema: { type: 'string', example: 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1' },
  },
};

const etagHeader: HeaderObject = {
  description: 'The stream version after the command, quoted: send it back as If-Match',
  schema: { type: 'string', example: '"3"' },
  required: true,
};

const retryAfterHeader: HeaderObject = { description: 'Seconds to wait before trying again', schema: { type: 'integer', minimum: 1 }, required: true };

const wwwAuthenticateHeader: HeaderObject = { description: 'The scheme to authenticate with', schema: { type: 'string', example: 'Bearer' }, required: true };

/** Headers described once (`components.headers`) and referred to by the answers that carry them. */
export const sharedHeaders: Readonly<Record<string, HeaderObject>> = {
  ...everyResponseHeaders,
  ETag: etagHeader,
  'Retry-After': retryAfterHeader,
  'WWW-Authenticate': wwwAuthenticateHeader,
};

/** A reference to one of `sharedHeaders`. */
export interface HeaderRef {
  readonly $ref: string;
}
const headerRef = (name: keyof typeof sharedHeaders & string): HeaderRef => ({ $ref: `#/components/headers/${name}` });
export const etag = headerRef('ETag');
const retryAfter = headerRef('Retry-After');
const wwwAuthenticate = headerRef('WWW-Authenticate');
/** The headers every answer carries, as references. */
export const everyResponseHeaderRefs: Readonly<Record<string, HeaderRef>> = Object.fromEntries(
  Object.keys(everyResponseHeaders).map((name) => [name, headerRef(name)]),
);

/** The body of every error: Boom's JSON, never a stack trace. Only the description reads it: joi is loaded then. */
export const errorBody = lazySchema(async () => errorBodySchema(await loadJoi()));

function errorBodySchema(Joi: Root) {
  return Joi.object({
    statusCode: Joi.number().integer().min(400).max(599).required(),
    error: Joi.string().required().description('The reason phrase of the status'),
    message: Joi.string().required().description('What went wrong; for invalid input, which field'),
    validation: Joi.object({
      source: Joi.string().valid('params', 'query', 'headers', 'payload').required(),
      keys: Joi.array().items(Joi.string()).required(),
    })
      .label('ValidationDetails')
      .description('Which part of the request was invalid (400 only)'),
  }).label('Error');
}

export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 410 | 412 | 413 | 415 | 422 | 503 | 504;

const errorStatuses: Readonly<Record<ErrorStatus, { description: string; error: string; message: string; headers?: Record<string, HeaderRef> }>> = {
  400: { description: 'Invalid input; the message names the field', error: 'Bad Request', message: '"name" is not allowed to be empty' },
  401: {
    description: 'Missing, malformed, forged or expired token',
    error: 'Unauthorized',
    message: 'Token expired',
    headers: { 'WWW-Authenticate': wwwAuthenticate },
  },
  403: { description: 'A member lacking the right', error: 'Forbidden', message: 'only an admin may rename the group chat' },
  404: {
    description: 'Unknown chat or message, or the caller is not a member (the same answer for both)',
    error: 'Not Found',
    message: 'group chat not found',
  },
  409: { description: 'A rule of the current state refuses the command', error: 'Conflict', message: 'bob is already a member' },
  410: { description: 'The chat was deleted', error: 'Gone', message: 'group chat was deleted' },
  412: { description: 'If-Match names a version the stream has moved on from', error: 'Precondition Failed', message: 'If-Match is stale: the stream is at version 4' },
  413: { description: 'Body over 16 KB', error: 'Request Entity Too Large', message: 'Payload content length greater than maximum allowed: 16384' },
  415: { description: 'A body that is not JSON', error: 'Unsupported Media Type', message: 'Unsupported Media Type' },
  422: {
    description: 'The Idempotency-Key already names another request of the caller',
    error: 'Unprocessable Entity',
    message: 'Idempotency-Key was already used for another request',
  },
  503: {
    description: 'A store is unreachable or too busy, or too many queries wait; try again after Retry-After',
    error: 'Service Unavailable',
    message: 'event store unavailable',
    headers: { 'Retry-After': retryAfter },
  },
  504: {
    description: 'The write named by X-Consistency-Token did not become visible in time',
    error: 'Gateway Timeout',
    message: 'the write named by X-Consistency-Token is not visible yet; retry',
  },
};

/** An example error body for `status` (the description builder adds one to every error answer). */
export function errorExample(status: ErrorStatus): { statusCode: number; error: string; message: string } {
  const { error, message } = errorStatuses[status];
  return { statusCode: status, error, message };
}

/** A success answer: its description, its headers (the body schema is the route's `response.status`). */
export interface Success {
  readonly description: string;
  readonly headers?: Readonly<Record<string, HeaderObject | HeaderRef>>;
}

/**
 * The route's `plugins` entry for the description: its success answer(s) and every error status
 * it can answer, each with the error body, an example and the headers it carries.
 */
export function documented(answers: {
  readonly success: Readonly<Record<number, Success>>;
  readonly errors: readonly ErrorStatus[];
  /** Extra operation fields, e.g. `security: []` for a route without a token. */
  readonly operation?: Readonly<Record<string, unknown>>;
}): { 'hapi-swagger': Record<string, unknown> } {
  const responses: Record<number, unknown> = {};
  for (const [status, success] of Object.entries(answers.success)) responses[Number(status)] = { ...success };
  for (const status of [...new Set(answers.errors)].sort((a, b) => a - b)) {
    const { description, headers } = errorStatuses[status];
    responses[status] = { description, schema: errorBody, ...(headers ? { headers } : {}) };
  }
  return { 'hapi-swagger': { responses, ...answers.operation } };
}
