import Boom from '@hapi/boom';
import type { Plugin } from '@hapi/hapi';
import t from 'tap';
import { capturedLogger } from '../testing/log-capture.ts';
import { unavailable } from './http-errors.ts';
import { createHttpServer } from './http-server.ts';
import { requestLogging } from './logging.ts';

class StoreDown extends Error {
  override readonly name = 'StoreDown';
}

/** A module-like plugin whose routes fail in each way a route can. */
const failing: Plugin<unknown> = {
  name: 'failing',
  register(server) {
    server.route([
      { method: 'GET', path: '/defect', handler: () => Promise.reject(new TypeError('x is not a function')) },
      { method: 'GET', path: '/down', handler: () => Promise.reject(unavailable('store unavailable', { retryAfterSeconds: 3, cause: new StoreDown('socket hang up') })) },
      { method: 'GET', path: '/busy', handler: () => Promise.reject(unavailable('busy')) },
      { method: 'GET', path: '/refused', handler: () => Promise.reject(Boom.notFound('group chat not found')) },
    ]);
  },
};

t.test('the one onPreResponse hook logs what a failure hides and never changes the answer', async (t) => {
  const { logger, entries } = capturedLogger('debug');
  const server = createHttpServer();
  await server.register([requestLogging(logger), { plugin: failing }]);
  await server.initialize();
  const logged = (path: string) => entries().filter((entry) => (entry.req as { url?: string } | undefined)?.url === path && entry.tags !== undefined);

  const defect = await server.inject('/defect');
  t.equal(defect.statusCode, 500);
  t.same(JSON.parse(defect.payload), { statusCode: 500, error: 'Internal Server Error', message: 'An internal server error occurred' });
  t.match(logged('/defect'), [{ level: 50, tags: ['error', 'failing'], err: { message: 'x is not a function' } }], 'a 500 is an error line, tagged with its plugin');

  const down = await server.inject('/down');
  t.equal(down.statusCode, 503);
  t.equal(down.headers['retry-after'], '3');
  t.same(JSON.parse(down.payload), { statusCode: 503, error: 'Service Unavailable', message: 'store unavailable' }, 'the cause never reaches the client');
  t.match(logged('/down'), [{ level: 40, tags: ['warn', 'failing'], data: { err: { type: 'StoreDown', message: 'socket hang up' } } }], 'a 503 logs its cause as a warning');

  t.equal((await server.inject('/busy')).statusCode, 503);
  t.same(logged('/busy'), [], 'a 503 without a cause (a queue that is full) is an answer, not an event');
  t.equal((await server.inject('/refused')).statusCode, 404);
  t.same(logged('/refused'), [], 'a refusal is not logged');
});
