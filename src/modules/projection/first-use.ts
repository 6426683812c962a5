import type { Server } from '@hapi/hapi';
import { deepCheckServed } from '../../shared/health.ts';
import { unavailable } from '../../shared/http-errors.ts';

/**
 * Runs `prepare` (the projection migrations) once per instance, on the first request that needs
 * the database, never at start: the readiness path answers at once, and a cold start waits on
 * nothing remote. It runs at `onPreHandler`, for this plugin's own routes only, so only a request
 * that passed authentication and validation gets there: an anonymous or malformed request never
 * makes the instance touch the schema. The health route runs it only for a deep check this caller
 * is served (`deepCheckServed`); a plain check never waits for it. A failure answers 503 and the
 * next request tries again.
 */
export function prepareOnFirstUse(server: Server, options: { readonly prepare: () => Promise<void>; readonly healthPath: string }): void {
  let prepared: Promise<void> | undefined;
  const ready = () => {
    prepared ??= options.prepare().catch((error: unknown) => {
      prepared = undefined;
      throw error;
    });
    return prepared;
  };
  server.ext(
    'onPreHandler',
    async (request, h) => {
      if (request.route.path === options.healthPath && !deepCheckServed(request)) return h.continue;
      try {
        await ready();
      } catch (error) {
        throw unavailable('projection database unavailable', { cause: error });
      }
      return h.continue;
    },
    { sandbox: 'plugin' },
  );
}
