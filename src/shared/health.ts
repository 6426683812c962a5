import type { Request, ServerRoute } from '@hapi/hapi';
import Validate from '@hapi/validate';
import { lazySchema, loadJoi } from './lazy-schema.ts';
import { unavailable } from './http-errors.ts';
import { documented } from './openapi/responses.ts';

/**
 * The header the Lambda Web Adapter adds to every request it makes from a Lambda invocation (API
 * Gateway, the stream's pass-through path), replacing any a client sent. Its own readiness check
 * and every local or in-process call come without it.
 */
export const invocationContextHeader = 'x-amzn-request-context';

/** Says which check a health answer ran (`deep`, or `shallow` with the reason a deep one was not run). */
export const healthCheckDepthHeader = 'Health-Check-Depth';
const deepNotServed = 'shallow; reason="deep checks are not served through the API"';

/**
 * Whether a request may run a deep check: only when it asks for one and did not arrive through a
 * Lambda invocation. Through API Gateway a health route answers anyone without a token, and a deep
 * check reaches a store (for the query side it wakes a paused database), so an anonymous caller
 * could keep the database out of auto-pause or learn whether a store is up. Locally, in tests and
 * for the adapter's own readiness check nothing changes.
 */
export function deepCheckServed(request: Pick<Request, 'headers' | 'query'>): boolean {
  const asked = request.query.deep === true || request.query.deep === 'true';
  return asked && request.headers[invocationContextHeader] === undefined;
}

/**
 * A health route (docs/api.md, health): no auth and no store access, so the Lambda adapter's
 * readiness check never waits on a database; `?deep=true` also runs `check` and answers 503 when
 * it fails. A deep check asked for through the API answers exactly like the shallow one (200, the
 * same text), with `Health-Check-Depth: shallow; reason=…`, so monitoring never reads a 503 into it.
 */
export function healthRoute(options: {
  readonly path: string;
  readonly text: string;
  readonly store: string;
  readonly check: () => Promise<unknown>;
  readonly tags: string[];
}): ServerRoute {
  return {
    method: 'GET',
    path: options.path,
    options: {
      auth: false,
      tags: options.tags,
      description: `Liveness; with deep=true also reaches the ${options.store} (not through API Gateway)`,
      notes: `A deep check runs only for callers inside the deployment (the Lambda adapter, local calls); through API Gateway deep=true answers the shallow result with ${healthCheckDepthHeader}: ${deepNotServed}.`,
      // Checked with hapi's own validator: the readiness check answers before joi is loaded.
      validate: {
        query: lazySchema(
          async () => {
            const Joi = await loadJoi();
            return Joi.object({ deep: Joi.boolean().default(false) });
          },
          { now: Validate.object({ deep: Validate.boolean().default(false) }) },
        ),
      },
      response: { status: { 200: lazySchema(async () => (await loadJoi()).string().valid(options.text).example(options.text), { now: Validate.string().valid(options.text) }) } },
      plugins: documented({
        success: {
          200: {
            description: `The text ${options.text}`,
            headers: {
              [healthCheckDepthHeader]: { description: 'Which check ran: deep, or shallow (with the reason when a deep one was asked for)', schema: { type: 'string' }, required: true },
            },
          },
        },
        errors: [400, 503],
        // No token: the adapter's readiness check and monitoring call it as they are.
        operation: { security: [], produces: ['text/plain'] },
      }),
      handler: async (request, h) => {
        let depth = 'shallow';
        if (deepCheckServed(request)) {
          try {
            await options.check();
          } catch {
            throw unavailable(`${options.store} unreachable`, { retryAfterSeconds: 5 });
          }
          depth = 'deep';
        } else if (request.query.deep) {
          depth = deepNotServed;
        }
        return h.response(options.text).type('text/plain').header(healthCheckDepthHeader, depth);
      },
    },
  };
}
