import type { Plugin, Request, ServerRegisterPluginObject } from '@hapi/hapi';
import HapiPino from 'hapi-pino';
import Validate from '@hapi/validate';
import pino from 'pino';
import type { DestinationStream, Logger } from 'pino';
import { traceIdOf } from './http-server.ts';

/**
 * The one logging configuration of every process (docs/api.md, robustness): JSON lines that never
 * carry a credential or a raw request, and never grow past a bound whatever a client sends.
 *
 * - Headers that carry credentials are replaced by "[redacted]" wherever they appear in a logged
 *   object, in any casing (a header map, an SDK error's request, a Boom's data).
 * - `rawPacket` (what Node attaches to an HTTP parse error: the client's bytes, bearer token
 *   included) is never written.
 * - Strings, arrays, objects and nesting are cut to fixed sizes, and a line that still exceeds
 *   `maxLineBytes` is written again with tighter cuts, so one line stays bounded.
 */

/** Header (and property) names whose values are credentials; compared case-insensitively. */
export const secretHeaders: readonly string[] = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'x-amz-security-token',
];
const secretKeys = new Set(secretHeaders);
/** Properties that are never written: raw protocol bytes a client sent. */
const droppedKeys = new Set(['rawpacket']);

export const defaultMaxLineBytes = 16 * 1024;

interface Limits {
  readonly string: number;
  readonly items: number;
  readonly depth: number;
}
const normal: Limits = { string: 2_048, items: 50, depth: 6 };
const tight: Limits = { string: 256, items: 10, depth: 4 };

/** A copy of `value` safe to log: secrets redacted, raw packets dropped, everything bounded. */
export function scrub(value: unknown, limits: Limits = normal): unknown {
  return scrubValue(value, limits, 0, new WeakSet());
}

function scrubValue(value: unknown, limits: Limits, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return cut(value, limits.string);
  if (typeof value !== 'object' || value === null) return typeof value === 'bigint' ? value.toString() : value;
  if (Buffer.isBuffer(value) || ArrayBuffer.isView(value)) return `[${value.byteLength} bytes]`;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (seen.has(value)) return '[circular]';
  if (depth >= limits.depth) return Array.isArray(value) ? `[array of ${value.length}]` : '[object]';
  seen.add(value);
  try {
    if (Array.isArray(value)) {
      const items = value.slice(0, limits.items).map((item) => scrubValue(item, limits, depth + 1, seen));
      if (value.length > limits.items) items.push(`[${value.length - limits.items} more]`);
      return items;
    }
    const source = value instanceof Error ? errorFields(value) : (value as Record<string, unknown>);
    const result: Record<string, unknown> = {};
    let count = 0;
    for (const key of Object.keys(source)) {
      const lower = key.toLowerCase();
      if (droppedKeys.has(lower)) continue;
      if (count++ >= limits.items) {
        result['[more keys]'] = Object.keys(source).length - limits.items;
        break;
      }
      result[cut(key, 128)] = secretKeys.has(lower) ? '[redacted]' : scrubValue(source[key], limits, depth + 1, seen);
    }
    return result;
  } finally {
    seen.delete(value);
  }
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…[${text.length - max} more chars]`;
}

function errorFields(error: Error): Record<string, unknown> {
  // pino's error serializer: type, message, stack, cause and the error's own enumerable fields.
  const fields = pino.stdSerializers.err(error) as unknown as Record<string, unknown>;
  // pino names the type after the constructor, which the minified bundles rename ("lM"); the
  // project's errors, Node's and the SDK's carry their real name in `name`.
  if (typeof error.name === 'string' && error.name !== '' && error.name !== 'Error') fields.type = error.name;
  return fields;
}

/** Query parameters whose value may be a credential (a token in `?access_token=`, a signed URL's parts). */
const credentialParameter = /token|key|secret|password|passwd|auth|code|signature|credential|session/i;

/** The URL as sent, with the values of credential-like query parameters replaced. */
export function redactQuery(url: string | undefined): string | undefined {
  const start = url?.indexOf('?') ?? -1;
  if (url === undefined || start < 0) return url;
  const query = url
    .slice(start + 1)
    .split('&')
    .map((pair) => {
      const name = pair.split('=', 1)[0]!;
      let decoded = name;
      try {
        decoded = decodeURIComponent(name.replaceAll('+', ' '));
      } catch {
        // a malformed escape names no known parameter; its raw spelling is tested instead
      }
      return pair.length > name.length && credentialParameter.test(decoded) ? `${name}=[redacted]` : pair;
    })
    .join('&');
  return `${url.slice(0, start)}?${query}`;
}

/** What a request line says about the request: never the body, never a credential. */
function serializeRequest(request: unknown): unknown {
  const hapi = request as Partial<Request> & { raw?: { req?: { url?: string } } };
  if (hapi?.info && hapi.raw?.req) {
    return scrub({
      id: hapi.info.id,
      method: hapi.method,
      url: redactQuery(hapi.raw.req.url),
      headers: hapi.headers,
      remoteAddress: hapi.info.remoteAddress,
    });
  }
  return scrub(request);
}

function serializeResponse(response: unknown): unknown {
  const raw = response as { statusCode?: number; getHeaders?: () => Record<string, unknown> };
  if (typeof raw?.getHeaders === 'function') return scrub({ statusCode: raw.statusCode, headers: raw.getHeaders() });
  return scrub(response);
}

function serializeError(error: unknown): unknown {
  return scrub(error);
}

/** A log line longer than the bound is rewritten with tighter cuts (rare: costs a parse). */
export function boundLine(line: string, maxLineBytes: number): string {
  if (line.length * 3 <= maxLineBytes || Buffer.byteLength(line) <= maxLineBytes) return line;
  try {
    const entry = JSON.parse(line) as Record<string, unknown>;
    const shortened = `${JSON.stringify({ ...(scrub(entry, tight) as object), truncated: true })}\n`;
    if (Buffer.byteLength(shortened) <= maxLineBytes) return shortened;
    return `${JSON.stringify({ level: entry.level, time: entry.time, msg: 'log entry too large; left out', bytes: Buffer.byteLength(line) })}\n`;
  } catch {
    return `${JSON.stringify({ time: Date.now(), msg: 'log entry too large; left out', bytes: Buffer.byteLength(line) })}\n`;
  }
}

export interface LoggerOptions {
  readonly level: string;
  /** Where lines go: standard output by default; tests pass a stream and read it. */
  readonly destination?: DestinationStream;
  readonly maxLineBytes?: number;
}

/**
 * Creates the process's logger. Every entry point and script logs through this.
 *
 * @example
 * const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'info' });
 * logger.info({ headers: request.headers }, 'seen'); // authorization → "[redacted]"
 */
export function createLogger(options: LoggerOptions): Logger {
  const maxLineBytes = options.maxLineBytes ?? defaultMaxLineBytes;
  const settings: pino.LoggerOptions = {
    level: options.level,
    serializers: { req: serializeRequest, res: serializeResponse, err: serializeError },
    formatters: {
      // Runs before the serializers: `req`, `res` and `err` are theirs, the rest is scrubbed here.
      log: (object) => {
        const result: Record<string, unknown> = {};
        for (const [key, value] of Object.entries(object)) {
          if (droppedKeys.has(key.toLowerCase())) continue;
          result[key] = key === 'req' || key === 'res' || key === 'err' ? value : secretKeys.has(key.toLowerCase()) ? '[redacted]' : scrub(value);
        }
        return result;
      },
    },
    hooks: { streamWrite: (line) => boundLine(line, maxLineBytes) },
  };
  return options.destination ? pino(settings, options.destination) : pino(settings);
}

/** LOG_LEVEL, the one setting every entry reads for its logger. */
export const logLevelSetting = Validate.string().valid('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent').default('info');

/** What the request line says about the caller: the token's subject, once auth ran. */
function userOf(request: Request): string | undefined {
  const credentials = request.auth?.credentials as { userId?: unknown } | null | undefined;
  return typeof credentials?.userId === 'string' ? credentials.userId : undefined;
}

/** Why a request was refused (4xx): the message its client got. A 5xx's reason is logged as an error. */
function reasonOf(request: Request, status: number): string | undefined {
  if (status < 400 || status >= 500) return undefined;
  // By the time the response is sent, hapi has turned the refusal (a Boom) into a response that
  // keeps it as `_error` (what hapi's own logging reads).
  const response = request.response as { isBoom?: boolean; output?: { payload?: { message?: unknown } }; _error?: { output?: { payload?: { message?: unknown } } } } | null;
  const boom = response?.isBoom ? response : response?._error;
  const message = boom?.output?.payload?.message;
  return typeof message === 'string' ? message : undefined;
}

/**
 * The request log (README.md, logs and request ids): hapi-pino on the shared logger for
 * request-scoped and error lines, and one line per request when it completes, with its request id,
 * trace id (when traced), user (`sub`), route, status, latency and, for a 4xx, the reason the
 * client was told. Health checks, which the Lambda adapter sends often, are left out.
 */
export function requestLogging(logger: Logger, options: { readonly ignorePaths?: readonly string[] } = {}): ServerRegisterPluginObject<unknown> {
  const ignorePaths = [...(options.ignorePaths ?? [])];
  const ignored = new Set(ignorePaths);
  const plugin: Plugin<unknown> = {
    name: 'request-logging',
    register: async (server) => {
      await server.register({ plugin: HapiPino as Plugin<unknown>, options: { instance: logger, ignorePaths, logRequestComplete: false } });
      server.events.on('response', (request) => {
        if (ignored.has(request.path)) return;
        const { info } = request;
        const status = (request.response as { statusCode?: number } | null)?.statusCode ?? request.raw.res.statusCode;
        logger.info(
          {
            requestId: info.id,
            traceId: traceIdOf(request),
            user: userOf(request),
            method: request.method.toUpperCase(),
            route: request.route.path,
            status,
            latencyMs: (info.completed || info.responded || Date.now()) - info.received,
            reason: reasonOf(request, status),
            req: request,
          },
          'request completed',
        );
      });
    },
  };
  return { plugin };
}

/**
 * The last line of defence (docs/api.md, robustness): an error that escapes every handler is logged
 * and the process keeps serving. Nothing a request does may stop it; the fault is still in the log
 * for someone to fix. The one exception is a fault `fatal` recognises (a store that can no longer
 * write until it is reopened): the process would stay up without working, so it says why in one
 * line and exits with status 1 for whoever supervises it to start it again.
 */
export function logUncaughtErrors(
  logger: Logger,
  target: NodeJS.EventEmitter = process,
  options: { readonly fatal?: (error: unknown) => string | undefined; readonly exit?: (code: number) => void } = {},
): void {
  const { fatal = () => undefined, exit = (code: number) => process.exit(code) } = options;
  const escaped = (error: unknown, what: string) => {
    const reason = fatal(error);
    if (reason === undefined) return logger.error({ err: error }, `${what}; the process keeps serving`);
    logger.fatal({ err: error }, reason);
    exit(1);
  };
  target.on('uncaughtException', (error: unknown) => escaped(error, 'uncaught exception'));
  target.on('unhandledRejection', (reason: unknown) => escaped(reason, 'unhandled promise rejection'));
}
