import type { Plugin } from '@hapi/hapi';
import type { Logger } from 'pino';
import { unavailable } from '../shared/http-errors.ts';

/**
 * Runs `prepare` (the projection migrations) once per instance, on the first request that needs
 * the database, never at start: the readiness path answers at once, and a cold start waits on
 * nothing remote. A failure answers 503 and the next request tries again. `healthPath` without
 * `?deep=true` never waits for it.
 */
export function preparedOnFirstUse(options: { readonly prepare: () => Promise<void>; readonly healthPath: string; readonly logger: Logger }): Plugin<unknown> {
  let prepared: Promise<void> | undefined;
  const ready = () => {
    prepared ??= options.prepare().catch((error: unknown) => {
      prepared = undefined;
      throw error;
    });
    return prepared;
  };
  return {
    name: 'prepared-on-first-use',
    register(server) {
      server.ext('onPreAuth', async (request, h) => {
        if (request.path === options.healthPath && request.query.deep !== 'true') return h.continue;
        try {
          await ready();
        } catch (error) {
          options.logger.error({ err: error }, 'projection database not ready');
          throw unavailable('projection database unavailable');
        }
        return h.continue;
      });
    },
  };
}
