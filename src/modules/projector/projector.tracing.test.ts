import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import t from 'tap';
import { createHttpServer } from '../../shared/http-server.ts';
import { startTracing } from '../../shared/tracing.ts';
import { commandServer } from '../../testing/command-server.ts';
import { openTestDatabase } from '../../testing/databases.ts';
import { insertRecord, streamEvent } from '../../testing/stream-events.ts';
import { closeTestDynamoDb, freshEventStore } from '../../testing/stores.ts';
import { Projector } from '../projection/index.ts';
import { projectorModule } from './index.ts';

/**
 * Tracing in the projector function: a stream batch arrives in the Lambda invocation's own trace,
 * and the span that applies a commit links to the trace of the request that wrote it.
 */

const exporter = new InMemorySpanExporter();
const tracing = await startTracing({}, { exporter });
t.teardown(async () => {
  await tracing?.stop();
  await closeTestDynamoDb();
});

t.test('POST /events: the invocation trace is the parent; projector apply links to the command', async (t) => {
  const database = await openTestDatabase(t, null);
  const { store } = await freshEventStore();
  const commandTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
  const { id } = await (await commandServer(store)).as('alice').createChat('Projected', { traceparent: `00-${commandTrace}-00f067aa0ba902b7-01` });
  const [commit] = await store.readStream(`GroupChat-${id}`);
  t.match(commit!.traceparent, new RegExp(`^00-${commandTrace}-[0-9a-f]{16}-01$`));

  const server = createHttpServer();
  await server.register({ plugin: projectorModule, options: { db: database.db, projector: new Projector(database.db, store), path: '/events', tableName: 'events' } });
  await server.initialize();
  exporter.reset();
  const lambdaContext = JSON.stringify({ request_id: 'e5b1b2a4-0000-4000-8000-000000000001', xray_trace_id: 'Root=1-6789abcd-0123456789abcdef01234567;Parent=1111222233334444;Sampled=1' });
  const invoked = await server.inject({ method: 'POST', url: '/events', headers: { 'x-amzn-lambda-context': lambdaContext }, payload: streamEvent([insertRecord(commit!)]) as object });
  t.same(JSON.parse(invoked.payload), { batchItemFailures: [] });

  const spans = exporter.getFinishedSpans();
  const route = spans.find((span) => span.name === 'POST /events');
  t.equal(route?.spanContext().traceId, '6789abcd0123456789abcdef01234567', "the invocation's trace");
  t.equal(route?.parentSpanContext?.spanId, '1111222233334444');
  const apply = spans.find((span) => span.name === 'projector apply');
  t.equal(apply?.spanContext().traceId, '6789abcd0123456789abcdef01234567', 'applied within the invocation');
  t.equal(apply?.parentSpanContext?.spanId, route?.spanContext().spanId, 'under its route');
  t.same(
    apply?.links.map((link) => [link.context.traceId, link.context.spanId]),
    [[commandTrace, commit!.traceparent!.split('-')[2]]],
    "linked to the span of the command that wrote the commit",
  );
  t.ok(spans.some((span) => span.name.startsWith('postgres ') && span.spanContext().traceId === '6789abcd0123456789abcdef01234567'), 'its SQL in the same trace');
});
