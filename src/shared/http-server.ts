import Hapi from '@hapi/hapi';
import type { Request, ResponseToolkit, ServerOptions } from '@hapi/hapi';
import Boom from '@hapi/boom';

/** Largest accepted request body (SPEC §2): anything bigger is 413. */
export const maxBodyBytes = 16 * 1024;

/**
 * A hapi server with the project's defaults: validation failures name the field (400, never a
 * generic message), bodies are capped, and unexpected errors never leak a stack trace.
 */
export function createHttpServer(options: Pick<ServerOptions, 'port' | 'host'> = {}) {
  const server = Hapi.server({
    ...options,
    // Errors are logged by the logging plugin where one is registered; no console noise.
    debug: false,
    router: { stripTrailingSlash: true },
    routes: {
      payload: { maxBytes: maxBodyBytes },
      validate: {
        // hapi's default hides the reason; a client needs to know which field is wrong.
        failAction: (_request: Request, _h: ResponseToolkit, error?: Error) => {
          throw error;
        },
        options: { abortEarly: true, errors: { wrap: { label: '"' } } },
      },
    },
  });
  server.ext('onPreResponse', (request, h) => {
    const { response } = request;
    if (Boom.isBoom(response)) {
      response.output.headers['x-request-id'] = request.info.id;
    } else {
      response.header('x-request-id', request.info.id);
    }
    return h.continue;
  });
  return server;
}
