import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ROOT_CONTEXT, createContextKey } from '@opentelemetry/api';
import { SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import t from 'tap';
import { eventually } from '../testing/eventually.ts';
import { createHttpServer } from './http-server.ts';
import { XRayDaemonExporter } from './tracing-sdk.ts';
import { RequestContextManager, inSpan, startTracing } from './tracing.ts';

/**
 * How spans leave a process: to the X-Ray daemon over UDP (what a Lambda function with
 * active tracing has beside it), or OTLP/HTTP. Received here by a UDP socket and an HTTP server
 * standing in for the daemon and a collector.
 */

const header = '{"format":"json","version":1}\n';

async function daemon(): Promise<{ socket: Socket; address: string; datagrams: Buffer[] }> {
  const socket = createSocket('udp4');
  const datagrams: Buffer[] = [];
  socket.on('message', (message) => datagrams.push(message));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { socket, address: `127.0.0.1:${socket.address().port}`, datagrams };
}

const until = async (what: string, probe: () => boolean): Promise<void> => void (await eventually(what, probe, (held) => held));

/** The OTLP protobuf inside one datagram (header line, `T1S`, base64). */
function payloadOf(datagram: Buffer): Buffer {
  const text = datagram.toString();
  if (!text.startsWith(`${header}T1S`)) throw new Error(`not an X-Ray daemon OTLP datagram: ${text.slice(0, 60)}`);
  return Buffer.from(text.slice(header.length + 3), 'base64');
}

t.test('the X-Ray daemon exporter: one OTLP datagram per export, split when it would not fit', async (t) => {
  const udp = await daemon();
  t.teardown(() => udp.socket.close());
  const exporter = new XRayDaemonExporter(udp.address);
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  t.teardown(() => provider.shutdown());
  const span = provider.getTracer('test').startSpan('POST /command/v1/group-chats');
  const traceId = span.spanContext().traceId;
  span.end();
  await until('the datagram', () => udp.datagrams.length === 1);
  const payload = payloadOf(udp.datagrams[0]!);
  t.ok(payload.includes(Buffer.from('POST /command/v1/group-chats')), 'carries the span');
  t.ok(payload.includes(Buffer.from(traceId, 'hex')), 'with its trace id');

  // A batch past a datagram's 64 KB goes as several datagrams, each under it.
  const unexported = new TracerProvider().getTracer('test');
  const spans = Array.from({ length: 12 }, (_, index) => {
    const s = unexported.startSpan(`batched ${index}`, { attributes: { filler: 'y'.repeat(8_000) } });
    s.end();
    return s as unknown as Parameters<XRayDaemonExporter['export']>[0][number];
  });
  udp.datagrams.length = 0;
  const batch = await new Promise<{ code: number }>((resolve) => exporter.export(spans, resolve));
  t.equal(batch.code, 0, 'exported');
  await until('the split batch', () => udp.datagrams.length >= 2);
  t.ok(udp.datagrams.every((datagram) => datagram.length <= 65_000), 'every datagram fits');
  const names = udp.datagrams.map(payloadOf).map((p) => p.toString('latin1'));
  for (let index = 0; index < 12; index++) t.ok(names.some((text) => text.includes(`batched ${index}`)), `span ${index} sent`);
  await new Promise<void>((resolve) => exporter.export([], () => resolve()));
  await exporter.forceFlush();
});

t.test('a daemon address that is not host:port is refused, naming the setting', async (t) => {
  t.throws(() => new XRayDaemonExporter('nowhere'), /AWS_XRAY_DAEMON_ADDRESS must be host:port/);
});

t.test('OTEL_TRACES_EXPORTER=xray: a request\'s spans go to AWS_XRAY_DAEMON_ADDRESS together, as it ends', async (t) => {
  const udp = await daemon();
  t.teardown(() => udp.socket.close());
  const tracing = await startTracing({ OTEL_TRACES_EXPORTER: 'xray', AWS_XRAY_DAEMON_ADDRESS: udp.address, OTEL_SERVICE_NAME: 'command' });
  t.ok(tracing);
  const server = createHttpServer();
  server.route({ method: 'POST', path: '/work', handler: () => inSpan('decide and append', {}, async () => ({ done: true })) });
  await server.initialize();
  t.equal((await server.inject({ method: 'POST', url: '/work' })).statusCode, 200);
  await until('the request\'s datagram', () => udp.datagrams.length > 0);
  const payload = payloadOf(udp.datagrams[0]!);
  t.ok(payload.includes(Buffer.from('decide and append')) && payload.includes(Buffer.from('POST /work')), 'the route and its child in one datagram');
  t.ok(payload.includes(Buffer.from('command')), 'under the service name');
  await tracing!.flush();
  await tracing!.stop();
});

for (const [protocol, contentType] of [
  [undefined, 'application/x-protobuf'],
  ['http/json', 'application/json'],
] as const) {
  t.test(`OTLP/HTTP ${protocol ?? 'protobuf (the default)'}`, async (t) => {
    const received: { contentType: string; body: Buffer }[] = [];
    const collector = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        received.push({ contentType: String(req.headers['content-type']), body: Buffer.concat(chunks) });
        res.writeHead(200, { 'content-type': contentType }).end(contentType === 'application/json' ? '{}' : undefined);
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    t.teardown(() => collector.close());
    const tracing = await startTracing({
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(collector.address() as AddressInfo).port}/`,
      ...(protocol ? { OTEL_EXPORTER_OTLP_PROTOCOL: protocol } : {}),
    });
    await inSpan('projector apply', {}, async () => undefined);
    await tracing!.flush();
    await tracing!.stop();
    t.equal(received.length, 1);
    t.equal(received[0]!.contentType, contentType);
    t.ok(received[0]!.body.includes(Buffer.from('projector apply')));
  });
}

t.test('the context manager: a context entered lasts for the rest of the flow; bound functions run in theirs', async (t) => {
  const manager = new RequestContextManager();
  const key = createContextKey('test');
  const outer = ROOT_CONTEXT.setValue(key, 'outer');
  t.equal(manager.active(), ROOT_CONTEXT, 'nothing entered: the root context');
  const bound = manager.bind(outer, () => manager.active().getValue(key));
  t.equal(bound(), 'outer');
  t.equal(manager.bind(outer, 42), 42, 'a value that is not a function is left as it is');
  await new Promise<void>((resolve) => {
    setImmediate(async () => {
      manager.enter(ROOT_CONTEXT.setValue(key, 'entered'));
      await Promise.resolve();
      t.equal(manager.active().getValue(key), 'entered', 'still active after an await');
      t.equal(manager.with(outer, () => manager.active().getValue(key)), 'outer');
      resolve();
    });
  });
  t.equal(manager.active(), ROOT_CONTEXT, 'and gone outside that flow');
  t.equal(manager.enable(), manager);
  manager.disable();
  t.equal(manager.active(), ROOT_CONTEXT);
});

t.test('settings it cannot honour stop the start, naming the variable', async (t) => {
  await t.rejects(startTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }), /OTEL_EXPORTER_OTLP_PROTOCOL must be http\/json or http\/protobuf/);
  await t.rejects(startTracing({ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'thrift', OTEL_TRACES_EXPORTER: 'otlp' }), /OTEL_EXPORTER_OTLP_TRACES_PROTOCOL must be/);
  await t.rejects(startTracing({ OTEL_TRACES_EXPORTER: 'zipkin' }), /OTEL_TRACES_EXPORTER must be otlp, xray, console or none/);
  const console = await startTracing({ OTEL_TRACES_EXPORTER: 'console' });
  t.ok(console, 'the console exporter is there for a quick look');
  await console!.stop();
});
