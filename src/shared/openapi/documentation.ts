import type { Plugin } from '@hapi/hapi';
import Inert from '@hapi/inert';
import Vision from '@hapi/vision';
import HapiSwagger from 'hapi-swagger';
import { resolveLazySchemas } from '../lazy-schema.ts';
import { finishDocument } from './document.ts';

/** Where the raw description is served. */
export const documentPath = '/openapi.json';

/**
 * `GET /documentation` (Swagger UI, served from this process: no request leaves the page) and
 * `GET /openapi.json`, the OpenAPI 3.0 description of every route tagged `api`: hapi-swagger
 * generates it from the joi schemas and `documented(...)` options, `finishDocument` completes it.
 * Local tooling only: no Lambda bundle carries it (scripts/build.slow.test.ts). The page is only ever
 * served at its bare address, so no link can point it at another description or hand it a token.
 */
export const documentation: Plugin<unknown> = {
  name: 'documentation',
  async register(server) {
    await server.register([
      { plugin: Inert.plugin as Plugin<unknown> },
      { plugin: Vision.plugin as Plugin<unknown> },
      {
        plugin: HapiSwagger as Plugin<unknown>,
        options: {
          OAS: 'v3.0',
          jsonPath: documentPath,
          documentationPath: '/documentation',
          info: {
            title: 'cqrs-es-example-ts',
            version: '1',
            description: 'A group-chat backend: commands under /command/v1, queries under /query/v1. Every call but the health checks carries a bearer JWT whose sub names the caller.',
          },
          securityDefinitions: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
          security: [{ bearer: [] }],
          grouping: 'tags',
        },
      },
    ]);
    // The page reads `?url=` (a description to load, from anywhere) and `?access_token=` (sent on)
    // from its own address; it needs no query, so any query is dropped before the page loads.
    server.ext('onRequest', (request, h) => {
      if (request.path !== '/documentation' || request.url.search === '') return h.continue;
      return h.redirect('/documentation').code(303).takeover();
    });
    // hapi-swagger reads the routes' joi schemas: the ones loaded on first use are loaded now.
    let resolved: Promise<void> | undefined;
    server.ext('onPreHandler', async (request, h) => {
      if (request.route.path === documentPath) await (resolved ??= resolveLazySchemas(request.server));
      return h.continue;
    });
    let finished: object | undefined;
    server.ext('onPostHandler', (request, h) => {
      const response = request.response;
      if (request.route.path !== documentPath || !('source' in response) || typeof response.source !== 'object') return h.continue;
      // The routes are fixed once the server starts: finish the description once.
      finished ??= { ...finishDocument(response.source as Record<string, unknown>), servers: [{ url: '/' }] };
      return h.response(finished).type('application/json');
    });
  },
};
