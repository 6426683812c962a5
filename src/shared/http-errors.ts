import Boom from '@hapi/boom';

/** 503 with Retry-After: the store behind the route is down or overloaded; try again shortly. */
export function unavailable(message: string, retryAfterSeconds = 1): Boom.Boom {
  const error = Boom.serverUnavailable(message);
  error.output.headers['Retry-After'] = String(retryAfterSeconds);
  return error;
}
