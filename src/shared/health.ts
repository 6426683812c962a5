import type { ServerRoute } from '@hapi/hapi';
import Joi from 'joi';
import { unavailable } from './http-errors.ts';

/**
 * A health route (SPEC §2): no auth and no store access, so the Lambda adapter's readiness check
 * never waits on a database; `?deep=true` also runs `check` and answers 503 when it fails.
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
      description: `Liveness; with deep=true also reaches the ${options.store}`,
      validate: { query: Joi.object({ deep: Joi.boolean().default(false) }) },
      handler: async (request, h) => {
        if (request.query.deep) {
          try {
            await options.check();
          } catch {
            throw unavailable(`${options.store} unreachable`, 5);
          }
        }
        return h.response(options.text).type('text/plain');
      },
    },
  };
}
