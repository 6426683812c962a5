import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** A request id we accept from outside: short, and nothing that could break a log line or a header. */
const acceptable = /^[A-Za-z0-9._:=+-]{1,128}$/;
/** The adapter's context headers are small JSON documents; anything bigger is not theirs. */
const maxContextBytes = 16 * 1024;

/**
 * The id that follows a request end to end (SPEC §9): the caller's own `X-Request-Id` when it is
 * well-formed, else the API Gateway request id, else the Lambda invocation id (the Lambda Web
 * Adapter forwards both as JSON in `x-amzn-request-context` / `x-amzn-lambda-context`), else a
 * random UUID. Never a host name or a process id.
 */
export function requestIdOf(headers: IncomingHttpHeaders): string {
  const own = headers['x-request-id'];
  if (typeof own === 'string' && acceptable.test(own)) return own;
  return (
    fromContext(headers['x-amzn-request-context'], 'requestId') ??
    fromContext(headers['x-amzn-lambda-context'], 'request_id') ??
    randomUUID()
  );
}

function fromContext(header: string | string[] | undefined, field: string): string | undefined {
  if (typeof header !== 'string' || header.length > maxContextBytes) return undefined;
  let context: unknown;
  try {
    context = JSON.parse(header);
  } catch {
    return undefined;
  }
  if (typeof context !== 'object' || context === null || !Object.hasOwn(context, field)) return undefined;
  const id = (context as Record<string, unknown>)[field];
  return typeof id === 'string' && acceptable.test(id) ? id : undefined;
}
