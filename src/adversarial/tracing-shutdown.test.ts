import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { inSpan, startTracing } from '../shared/tracing.ts';

/**
 * A collector that is down or refuses spans costs the spans, never the process.
 * `npm start` with OTEL_EXPORTER_OTLP_ENDPOINT naming a collector that answers 500 (or is not
 * listening, or never answers), stopped with SIGTERM, must stop cleanly: the final flush's
 * rejection stays inside `tracing.stop()` (and whatever else fails on the way out is logged by
 * serve.ts before it exits 1).
 *
 * By hand: a collector answering 500 on 127.0.0.1:4318, then
 *   OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 OTEL_EXPORTER_OTLP_PROTOCOL=http/json npm start
 *   (one POST), kill -TERM <pid>; echo $?   → 0, and the log ends at "stopped".
 */

t.test('stopping tracing while the collector answers 500 resolves: the spans are lost, nothing else', async (t) => {
  let posts = 0;
  const collector = createServer((request, response) => {
    posts++;
    request.resume();
    request.on('end', () => response.writeHead(500, { 'content-type': 'text/plain' }).end('collector down'));
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  t.teardown(() => collector.close());
  const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;

  const tracing = await startTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' });
  t.ok(tracing, 'tracing is on');
  t.equal(await inSpan('a span the collector will refuse', {}, async () => 'done'), 'done');

  await t.resolves(tracing!.stop(), 'stop() resolves although the last export failed');
  t.ok(posts >= 1, 'the spans were offered to the collector');
});
