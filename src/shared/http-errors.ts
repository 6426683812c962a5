import Boom from '@hapi/boom';
import type { Server } from '@hapi/hapi';

interface UnavailableOptions {
  /** Seconds the client should wait before it tries again (Retry-After); 1 by default. */
  readonly retryAfterSeconds?: number;
  /** What failed underneath: logged (by `logFailedResponses`), never sent to the client. */
  readonly cause?: unknown;
}

/** 503 with Retry-After: the store behind the route is down or overloaded; try again shortly. */
export function unavailable(message: string, options: UnavailableOptions = {}): Boom.Boom {
  const error = Boom.serverUnavailable(message);
  error.output.headers['Retry-After'] = String(options.retryAfterSeconds ?? 1);
  if (options.cause !== undefined) error.cause = options.cause;
  return error;
}

/**
 * The one `onPreResponse` hook (every server has it, from `createHttpServer`): logs what a failed
 * response does not show, and never changes the response. Failures become their status where they
 * happen (a Boom thrown at the source); this only reports a 500, which is a defect, as an error,
 * and a 503 that names its cause as a warning. Refusals (4xx) are answers, not events. Each line
 * is tagged with the plugin whose route answered.
 */
export function logFailedResponses(server: Server): void {
  server.ext('onPreResponse', (request, h) => {
    const { response } = request;
    if (Boom.isBoom(response)) {
      const status = response.output.statusCode;
      const source = request.route.realm.plugin ?? 'server';
      if (status === 500) request.log(['error', source], response);
      else if (status === 503 && response.cause !== undefined) request.log(['warn', source], { err: response.cause });
    }
    return h.continue;
  });
}
