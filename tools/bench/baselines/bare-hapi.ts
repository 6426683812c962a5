/** The baseline of the cold start budget (docs/budgets.md): a bare hapi server with one route, bundled like the services. */
import Hapi from '@hapi/hapi';

const server = Hapi.server({ port: Number(process.env.PORT ?? 8080), host: process.env.HOST ?? '0.0.0.0' });
server.route({ method: 'GET', path: '/health', handler: () => 'ok' });
await server.start();
process.once('SIGTERM', () => void server.stop().then(() => process.exit(0)));
