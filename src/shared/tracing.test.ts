import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import t from 'tap';
import { eventually } from '../testing/eventually.ts';
import type { Test } from 'tap';
import { groupChatStream } from '../contracts/streams.ts';
import { appServer } from '../testing/app-server.ts';
import { openTestDatabase } from '../testing/databases.ts';
import { capturedLogger } from '../testing/log-capture.ts';
import { closeTestDynamoDb, freshEventStore } from '../testing/stores.ts';
import { inSpan, isTraceparent, linkTo, startTracing, tracingEnabled, tracingRequested } from './tracing.ts';

/**
 * One trace from the HTTP request to the projection. The spans are read from an
 * in-memory exporter, as the SDK hands them to any exporter.
 */

const exporter = new InMemorySpanExporter();
const tracing = await startTracing({}, { exporter });
t.teardown(async () => {
  await tracing?.stop();
  await closeTestDynamoDb();
});

const spans = () => exporter.getFinishedSpans();
const ofTrace = (traceId: string) => spans().filter((span) => span.spanContext().traceId === traceId);
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;
const named = (list: readonly ReadableSpan[], name: string | RegExp) => list.filter((span) => (typeof name === 'string' ? span.name === name : name.test(span.name)));
const childrenOf = (list: readonly ReadableSpan[], parent: ReadableSpan) => list.filter((span) => parentOf(span) === parent.spanContext().spanId);

/** Until the projector's span for the stream ended (the local feed applies after the response). */
async function projected(streamId: string): Promise<ReadableSpan> {
  const span = await eventually(
    `the projector's span for ${streamId}`,
    () => spans().find((s) => s.name === 'projector apply' && (s.attributes['projection.stream_ids'] as string[]).includes(streamId) && s.attributes['projection.events_applied'] !== 0),
    (found) => found !== undefined,
  );
  return span!;
}

const setup = async (t: Test) => {
  const { store } = await freshEventStore();
  const { logger, entries } = capturedLogger('info');
  const api = await appServer(store, await openTestDatabase(t, null), { logger });
  return { store, api, entries, alice: api.as('alice'), bob: api.as('bob') };
};

t.test('settings: traces only when an OTEL_* setting asks for them', async (t) => {
  t.equal(tracingEnabled(), true);
  t.equal(tracingRequested({}), false, 'off by default');
  t.equal(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }), true);
  t.equal(tracingRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' }), true);
  t.equal(tracingRequested({ OTEL_TRACES_EXPORTER: 'xray' }), true);
  t.equal(tracingRequested({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x' }), false);
  t.equal(tracingRequested({ OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x' }), false);
  t.equal(await startTracing({}), undefined, 'nothing asked, nothing started');
  await t.rejects(startTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x' }), /already started/);
});

t.test('a command with a traceparent: route → decide and append → DynamoDB calls, and the commit carries the trace', async (t) => {
  const { store, alice, entries } = await setup(t);
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const parentSpan = '00f067aa0ba902b7';
  const created = await alice.createChat('Traced', { traceparent: `00-${traceId}-${parentSpan}-01` });
  t.equal(created.status, 201);
  const trace = ofTrace(traceId);
  const [route] = named(trace, 'POST /command/v1/group-chats');
  t.ok(route, 'the route span, named after the route');
  t.equal(route!.kind, SpanKind.SERVER);
  t.equal(parentOf(route!), parentSpan, "a child of the caller's span");
  t.match(route!.attributes, { 'http.route': '/command/v1/group-chats', 'http.response.status_code': 201 });
  const [command] = childrenOf(trace, route!).filter((span) => span.name === 'decide and append');
  t.ok(command, 'decide and append under the route');
  t.match(command!.attributes, { 'command.stream_id': groupChatStream(created.id), 'command.version': 1 });
  const calls = childrenOf(trace, command!).map((span) => span.name);
  t.ok(calls.includes('DynamoDB.Query'), 'the stream read');
  t.ok(calls.includes('DynamoDB.PutItem'), 'the conditional put');
  for (const call of named(trace, /^DynamoDB\./)) t.equal(call.kind, SpanKind.CLIENT, `${call.name} is a client span`);

  const [commit] = await store.readStream(groupChatStream(created.id));
  t.ok(commit?.traceparent, 'the commit stores the trace context');
  t.equal(commit!.traceparent!.split('-')[1], traceId, 'of the same trace');

  const apply = await projected(groupChatStream(created.id));
  const linked = apply.spanContext().traceId === traceId || apply.links.some((link) => link.context.traceId === traceId);
  t.ok(linked, "the projector's span belongs to or links to the command's trace");
  t.ok(apply.links.some((link) => link.context.traceId === traceId && link.context.spanId === commit!.traceparent!.split('-')[2]));

  const line = entries().find((entry) => entry.msg === 'request completed' && entry.route === '/command/v1/group-chats');
  t.match(line, { requestId: created.headers['x-request-id'], traceId, user: 'alice', method: 'POST', status: 201, latencyMs: Number });
});

t.test('a version conflict is an event on the command span', async (t) => {
  const { store, alice } = await setup(t);
  const { id } = await alice.createChat('Race');
  exporter.reset();
  // Another writer takes version 2 between the command's read and its put.
  const original = store.append.bind(store);
  let raced = false;
  store.append = async (request) => {
    if (!raced) {
      raced = true;
      await original({ ...request, commandId: 'someone-else', events: [{ type: 'GroupChatRenamed', data: { name: 'Other' } }] });
    }
    return original(request);
  };
  t.equal((await alice.rename(id, 'Mine')).status, 200);
  const [command] = named(spans(), 'decide and append');
  t.match(
    command!.events.map((event) => event.name),
    ['version conflict'],
  );
  t.equal(command!.events[0]!.attributes!.attempt, 1);
});

t.test('a query with a consistency token: the wait and each Postgres query under the route', async (t) => {
  const { api, alice } = await setup(t);
  const created = await alice.createChat('Read me');
  const posted = await alice.post(created.id, 'hello');
  const traceId = '0af7651916cd43dd8448eb211c80319c';
  exporter.reset();
  const response = await api.send('alice', 'GET', `/query/v1/group-chats/${created.id}/messages`, undefined, {
    'x-consistency-token': posted.body.token as string,
    traceparent: `00-${traceId}-b7ad6b7169203331-01`,
  });
  t.equal(response.status, 200);
  const trace = ofTrace(traceId);
  const [route] = named(trace, 'GET /query/v1/group-chats/{id}/messages');
  t.ok(route);
  const [wait] = named(trace, 'consistency wait');
  t.ok(wait, 'the consistency wait');
  t.equal(parentOf(wait!), route!.spanContext().spanId);
  t.match(wait!.attributes, { 'consistency.reached': true });
  const queries = named(trace, /^postgres /);
  t.ok(queries.length > 0, 'Postgres spans');
  t.ok(queries.some((span) => parentOf(span) === route!.spanContext().spanId), 'the read itself under the route');
  t.ok(queries.every((span) => span.attributes['db.system.name'] === 'postgresql' && typeof span.attributes['db.query.text'] === 'string'));
  t.ok(queries.some((span) => span.name === 'postgres SELECT'));
});

t.test('X-Amzn-Trace-Id: a full header is the parent; Root alone names the trace', async (t) => {
  const { alice } = await setup(t);
  const full = await alice.createChat('X-Ray', { 'x-amzn-trace-id': 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1' });
  t.equal(full.status, 201);
  const [fullRoute] = named(ofTrace('5759e988bd862e3fe1be46a994272793'), 'POST /command/v1/group-chats');
  t.equal(parentOf(fullRoute!), '53995c3f42cd8ad8');

  const rootOnly = await alice.createChat('Root only', { 'x-amzn-trace-id': 'Root=1-67891233-abcdef012345678912345678' });
  t.equal(rootOnly.status, 201);
  const trace = ofTrace('67891233abcdef012345678912345678');
  const [route] = named(trace, 'POST /command/v1/group-chats');
  t.ok(route, 'the route span is in the named trace');
  t.equal(parentOf(route!), undefined, 'as its root');
  t.ok(named(trace, 'DynamoDB.PutItem').length > 0, 'with the store calls beneath');
});

t.test("behind the Lambda adapter, the invocation's trace is the parent, whatever the client sent", async (t) => {
  const { alice } = await setup(t);
  const lambdaContext = JSON.stringify({ request_id: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef', xray_trace_id: 'Root=1-6789abcd-0123456789abcdef01234567;Parent=1111222233334444;Sampled=1' });
  const created = await alice.createChat('In Lambda', { 'x-amzn-lambda-context': lambdaContext, traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' });
  t.equal(created.status, 201);
  const [route] = named(ofTrace('6789abcd0123456789abcdef01234567'), 'POST /command/v1/group-chats');
  t.equal(parentOf(route!), '1111222233334444', "the function's segment is the parent");
});

t.test('hostile trace headers start a fresh trace, with X-Ray compatible ids', async (t) => {
  const { alice } = await setup(t);
  exporter.reset();
  const headers: Record<string, string>[] = [
    { traceparent: `00-${'0'.repeat(32)}-00f067aa0ba902b7-01` },
    { traceparent: 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x' },
    { traceparent: 'x'.repeat(8_000) },
    { 'x-amzn-trace-id': `Root=1-${'0'.repeat(8)}-${'0'.repeat(24)}` },
    { 'x-amzn-trace-id': `Root=1-5759e988-bd862e3fe1be46a99427279;Sampled=1` },
    { 'x-amzn-trace-id': `${'Root=;'.repeat(2_000)}` },
  ];
  for (const header of headers) t.equal((await alice.createChat('Hostile', header)).status, 201, Object.values(header)[0]!.slice(0, 40));
  const routes = named(spans(), 'POST /command/v1/group-chats');
  t.equal(routes.length, headers.length);
  for (const route of routes) {
    t.equal(parentOf(route), undefined);
    const epoch = Number.parseInt(route.spanContext().traceId.slice(0, 8), 16);
    t.ok(Math.abs(epoch - Date.now() / 1000) < 600, 'the trace id starts with the time, as X-Ray ids do');
  }
});

t.test('a refused request: its log line says why, the span is not an error', async (t) => {
  const { alice, bob, entries } = await setup(t);
  const { id } = await alice.createChat('Private');
  exporter.reset();
  const refused = await bob.rename(id, 'Mine');
  t.equal(refused.status, 404);
  const line = entries().find((entry) => entry.msg === 'request completed' && entry.status === 404);
  t.match(line, { user: 'bob', route: '/command/v1/group-chats/{id}/rename', reason: String, requestId: refused.headers['x-request-id'] });
  const [route] = named(spans(), 'POST /command/v1/group-chats/{id}/rename');
  t.not(route!.status.code, 2, 'a 4xx is the client’s, not a failure of the route');
  const [command] = named(spans(), 'decide and append');
  t.not(command!.status.code, 2, 'nor of the command');
  t.match(command!.events, [{ name: 'refused', attributes: { 'http.response.status_code': 404 } }]);
});

t.test('a failure that is not a refusal marks the span', async (t) => {
  exporter.reset();
  await t.rejects(inSpan('doomed', {}, async () => { throw new TypeError('broken'); }), /broken/);
  const [span] = named(spans(), 'doomed');
  t.equal(span!.status.code, 2);
  t.match(span!.events, [{ name: 'exception', attributes: { 'exception.type': 'TypeError', 'exception.message': 'broken' } }]);
});

t.test('trace contexts as stored on commits', async (t) => {
  t.ok(isTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'));
  t.notOk(isTraceparent('00-00000000000000000000000000000000-00f067aa0ba902b7-01'));
  t.notOk(isTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01'));
  t.notOk(isTraceparent('01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'));
  t.equal(linkTo(undefined), undefined);
  t.equal(linkTo('garbage'), undefined);
  t.match(linkTo('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', { a: 1 }), {
    context: { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 1, isRemote: true },
    attributes: { a: 1 },
  });
});
