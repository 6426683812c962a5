import t from 'tap';
import type { Test } from 'tap';
import { deepCheckServed, healthRoute, invocationContextHeader } from './health.ts';
import { createHttpServer } from './http-server.ts';

/** What the Lambda Web Adapter forwards for a request that came through an HTTP API (abridged). */
const apiGatewayContext = JSON.stringify({
  accountId: '123456789012',
  apiId: 'a1b2c3',
  domainName: 'a1b2c3.execute-api.eu-west-1.amazonaws.com',
  http: { method: 'GET', path: '/query/healthcheck', protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'curl/8' },
  requestId: 'JbZLmiH1IAMEPvw=',
  routeKey: 'GET /query/healthcheck',
  stage: '$default',
});

async function healthServer(t: Test, check: () => Promise<unknown>) {
  const server = createHttpServer();
  server.route(healthRoute({ path: '/health', text: 'Running', store: 'store', check, tags: ['api'] }));
  await server.initialize();
  t.teardown(() => server.stop());
  return server;
}

t.test('locally and for the adapter readiness check, deep=true reaches the store', async (t) => {
  let checks = 0;
  const server = await healthServer(t, async () => {
    checks++;
  });
  const shallow = await server.inject('/health');
  t.equal(shallow.statusCode, 200);
  t.equal(shallow.payload, 'Running');
  t.equal(shallow.headers['health-check-depth'], 'shallow');
  t.equal(checks, 0, 'a shallow check touches no store');
  const deep = await server.inject('/health?deep=true');
  t.equal(deep.statusCode, 200);
  t.equal(deep.headers['health-check-depth'], 'deep');
  t.equal(checks, 1, 'the deep check ran');
});

t.test('locally, a failing store answers a deep check with 503 and Retry-After', async (t) => {
  const server = await healthServer(t, async () => {
    throw new Error('connection refused');
  });
  const deep = await server.inject('/health?deep=true');
  t.equal(deep.statusCode, 503);
  t.equal(deep.headers['retry-after'], '5');
  t.notMatch(deep.payload, /connection refused/, 'the cause stays in the logs');
});

t.test('through API Gateway, deep=true answers the shallow result and never reaches the store', async (t) => {
  let checks = 0;
  const server = await healthServer(t, async () => {
    checks++;
    throw new Error('a paused database');
  });
  for (const context of [apiGatewayContext, '{}', '']) {
    const response = await server.inject({ url: '/health?deep=true', headers: { [invocationContextHeader]: context } });
    t.equal(response.statusCode, 200, `context ${JSON.stringify(context.slice(0, 20))}: 200, not 503`);
    t.equal(response.payload, 'Running', 'the same text as the shallow check');
    t.equal(response.headers['health-check-depth'], 'shallow; reason="deep checks are not served through the API"');
  }
  const shallow = await server.inject({ url: '/health', headers: { [invocationContextHeader]: apiGatewayContext } });
  t.equal(shallow.statusCode, 200);
  t.equal(shallow.headers['health-check-depth'], 'shallow', 'a plain shallow check says nothing more');
  t.equal(checks, 0, 'no request through the API ran the check');
  t.equal((await server.inject('/health?deep=nonsense')).statusCode, 400, 'a malformed deep is still a 400');
});

t.test('deepCheckServed reads the raw query too (before validation), for code that runs earlier in the lifecycle', async (t) => {
  t.equal(deepCheckServed({ query: { deep: 'true' }, headers: {} }), true);
  t.equal(deepCheckServed({ query: { deep: true }, headers: {} }), true);
  t.equal(deepCheckServed({ query: {}, headers: {} }), false);
  t.equal(deepCheckServed({ query: { deep: 'false' }, headers: {} }), false);
  t.equal(deepCheckServed({ query: { deep: 'true' }, headers: { [invocationContextHeader]: apiGatewayContext } }), false);
});
