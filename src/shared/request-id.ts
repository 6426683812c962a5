import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** A request id we accept from outside: short, and nothing that could break a log line or a header. */
const acceptable = /^[A-Za-z0-9._:=+-]{1,128}$/;
/** The adapter's context headers are small JSON documents; anything bigger is not theirs. */
const maxContextBytes = 16 * 1024;

/**
 * The id that follows a request end to end (docs/api.md, robustness). Behind API Gateway it is the
 * gateway's own request id (the Lambda Web Adapter forwards the request context as JSON in
 * `x-amzn-request-context`, replacing anything a client sent under that name): the id in the
 * API's access log, unique and chosen by no caller, so no caller can make its requests share an
 * id with someone else's. Elsewhere it is the caller's own well-formed `X-Request-Id` (which, behind
 * the gateway, is still logged among the request headers), else the Lambda invocation id
 * (`x-amzn-lambda-context`), else a random UUID. Never a host name or a process id.
 */
export function requestIdOf(headers: IncomingHttpHeaders): string {
  const gateway = fromContext(headers['x-amzn-request-context'], 'requestId');
  if (gateway !== undefined) return gateway;
  const own = headers['x-request-id'];
  if (typeof own === 'string' && acceptable.test(own)) return own;
  return fromContext(headers['x-amzn-lambda-context'], 'request_id') ?? randomUUID();
}

function fromContext(header: string | string[] | undefined, field: string): string | undefined {
  const id = contextField(header, field);
  return id !== undefined && acceptable.test(id) ? id : undefined;
}

/**
 * A string field of one of the adapter's context headers (`x-amzn-request-context`,
 * `x-amzn-lambda-context`), unchecked beyond its type and the header's size.
 */
export function contextField(header: string | string[] | undefined, field: string): string | undefined {
  if (typeof header !== 'string' || header.length > maxContextBytes) return undefined;
  let context: unknown;
  try {
    context = JSON.parse(header);
  } catch {
    return undefined;
  }
  if (typeof context !== 'object' || context === null || !Object.hasOwn(context, field)) return undefined;
  const value = (context as Record<string, unknown>)[field];
  return typeof value === 'string' ? value : undefined;
}
