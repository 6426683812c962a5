/**
 * The OpenTelemetry SDK as this project configures it. Loaded by `startTracing` only when the
 * `OTEL_*` settings ask for traces: nothing here is parsed on a cold start with tracing off.
 */
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { context, createContextKey, propagation, trace } from '@opentelemetry/api';
import type { Context, ContextManager, TextMapGetter, TextMapPropagator } from '@opentelemetry/api';
import { CompositePropagator, ExportResultCode, W3CTraceContextPropagator } from '@opentelemetry/core';
import type { ExportResult } from '@opentelemetry/core';
import { AWSXRayIdGenerator } from '@opentelemetry/id-generator-aws-xray';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { AWSXRayPropagator } from '@opentelemetry/propagator-aws-xray';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import type { IdGenerator, ReadableSpan, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace';

/** A trace id an incoming `X-Amzn-Trace-Id` names without a parent (`Root=1-…` alone). */
const requestedTraceId = createContextKey('requested X-Ray trace id');
const xrayRoot = /(?:^|;)\s*Root=1-([0-9a-f]{8})-([0-9a-f]{24})\s*(?:;|$)/i;

/**
 * `X-Amzn-Trace-Id` as AWS sends it. The contrib propagator reads a header with `Root`, `Parent`
 * and `Sampled`; a load balancer, or API Gateway without tracing, sends `Root=1-…` alone, which it
 * ignores. Such a header still names the trace: the id goes into the context, and the id
 * generator starts the request's root span in that trace.
 */
class XRayPropagator implements TextMapPropagator {
  readonly #full = new AWSXRayPropagator();

  inject: TextMapPropagator['inject'] = (ctx, carrier, setter) => this.#full.inject(ctx, carrier, setter);

  extract(ctx: Context, carrier: unknown, getter: TextMapGetter): Context {
    const extracted = this.#full.extract(ctx, carrier, getter);
    if (extracted !== ctx) return extracted;
    const header = getter.get(carrier, 'x-amzn-trace-id');
    const text = Array.isArray(header) ? header[0] : header;
    if (typeof text !== 'string' || text.length > 256) return ctx;
    const root = xrayRoot.exec(text);
    if (!root) return ctx;
    const traceId = `${root[1]}${root[2]}`.toLowerCase();
    return /^0+$/.test(traceId) ? ctx : ctx.setValue(requestedTraceId, traceId);
  }

  fields(): string[] {
    return this.#full.fields();
  }
}

/** X-Ray trace ids (the first 4 bytes are the start time), or the one the request named. */
class RequestedOrXRayIds implements IdGenerator {
  readonly #xray = new AWSXRayIdGenerator();

  generateTraceId(): string {
    const requested = context.active().getValue(requestedTraceId);
    return typeof requested === 'string' ? requested : this.#xray.generateTraceId();
  }

  generateSpanId(): string {
    return this.#xray.generateSpanId();
  }
}

/**
 * The X-Ray daemon's UDP protocol carrying OTLP (what the AWS distribution's Lambda layer sends
 * to the daemon Lambda runs beside every traced function): a header line, then `T1S` and the
 * base64 of an OTLP protobuf export request. One datagram holds at most 64 KB, so a batch that
 * does not fit is split.
 */
export class XRayDaemonExporter implements SpanExporter {
  readonly #socket: Socket;
  readonly #host: string;
  readonly #port: number;

  constructor(address: string) {
    const match = /^(.+):(\d{1,5})$/.exec(address.trim());
    if (!match) throw new Error(`configuration error: AWS_XRAY_DAEMON_ADDRESS must be host:port, got ${JSON.stringify(address.slice(0, 64))}`);
    this.#host = match[1]!;
    this.#port = Number(match[2]);
    this.#socket = createSocket('udp4');
    this.#socket.unref();
  }

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.#send(spans).then(
      () => done({ code: ExportResultCode.SUCCESS }),
      (error: unknown) => done({ code: ExportResultCode.FAILED, error: error instanceof Error ? error : new Error(String(error)) }),
    );
  }

  async #send(spans: ReadableSpan[]): Promise<void> {
    if (spans.length === 0) return;
    const body = ProtobufTraceSerializer.serializeRequest(spans);
    if (body === undefined) throw new Error('spans could not be serialized');
    const datagram = Buffer.from(`{"format":"json","version":1}\nT1S${Buffer.from(body).toString('base64')}`);
    if (datagram.length > 65_000 && spans.length > 1) {
      const half = Math.ceil(spans.length / 2);
      await this.#send(spans.slice(0, half));
      await this.#send(spans.slice(half));
      return;
    }
    await new Promise<void>((resolve, reject) => this.#socket.send(datagram, this.#port, this.#host, (error) => (error ? reject(error) : resolve())));
  }

  async shutdown(): Promise<void> {
    this.#socket.close();
  }

  async forceFlush(): Promise<void> {}
}

const protocols = ['http/json', 'http/protobuf'];

/** The exporter the settings name (OTEL_TRACES_EXPORTER, OTEL_EXPORTER_OTLP_*_PROTOCOL). */
async function exporterOf(env: NodeJS.ProcessEnv): Promise<{ exporter: SpanExporter; batchSize: number; flushEachRequest?: boolean }> {
  const kind = env.OTEL_TRACES_EXPORTER?.trim().toLowerCase() || 'otlp';
  if (kind === 'xray') {
    // Lambda sets AWS_XRAY_DAEMON_ADDRESS on a function with active tracing. Batches of ten spans
    // (a datagram holds 64 KB), sent when each request ends (`flushEachRequest`): Lambda freezes
    // the process once the response is out, and a span waiting for the batch timer would wait
    // for the next invocation. One datagram per span instead costs five times the CPU.
    return { exporter: new XRayDaemonExporter(env.AWS_XRAY_DAEMON_ADDRESS ?? '127.0.0.1:2000'), batchSize: 10, flushEachRequest: true };
  }
  if (kind === 'console') {
    const { ConsoleSpanExporter } = await import('@opentelemetry/sdk-trace');
    return { exporter: new ConsoleSpanExporter(), batchSize: 512 };
  }
  if (kind !== 'otlp') throw new Error(`configuration error: OTEL_TRACES_EXPORTER must be otlp, xray, console or none, got ${JSON.stringify(kind.slice(0, 32))}`);
  const variable = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL' : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const protocol = (env[variable]?.trim().toLowerCase() || 'http/protobuf');
  if (!protocols.includes(protocol)) throw new Error(`configuration error: ${variable} must be ${protocols.join(' or ')}, got ${JSON.stringify(protocol.slice(0, 32))}`);
  // The exporters read the other OTEL_EXPORTER_OTLP_* settings (headers, timeout) themselves.
  const url = otlpTracesUrl(env);
  if (protocol === 'http/json') {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    return { exporter: new OTLPTraceExporter({ url }), batchSize: 512 };
  }
  const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');
  return { exporter: new OTLPTraceExporter({ url }), batchSize: 512 };
}

/** Where OTLP traces go: the traces endpoint as given, or `/v1/traces` under the base endpoint. */
function otlpTracesUrl(env: NodeJS.ProcessEnv): string | undefined {
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (traces) return traces;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  return base ? `${base.replace(/\/+$/, '')}/v1/traces` : undefined;
}

export interface InstalledTracing {
  flush(): Promise<void>;
  /** Whether each request's spans are sent as soon as it ends (Lambda). */
  readonly flushEachRequest: boolean;
  stop(): Promise<void>;
}

/**
 * Installs the tracer provider, the context manager and the propagators (W3C `traceparent` and
 * AWS `X-Amzn-Trace-Id`) globally. A test's exporter gets every span as it ends (no batching).
 */
export async function installTracing(env: NodeJS.ProcessEnv, manager: ContextManager, testExporter?: SpanExporter): Promise<InstalledTracing> {
  let processor: SpanProcessor;
  const { exporter, batchSize, flushEachRequest } = testExporter ? { exporter: testExporter, batchSize: undefined, flushEachRequest: false } : await exporterOf(env);
  if (batchSize === undefined) processor = new SimpleSpanProcessor({ exporter });
  else processor = new BatchSpanProcessor({ exporter, maxExportBatchSize: batchSize, scheduledDelayMillis: 1_000 });
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME || env.AWS_LAMBDA_FUNCTION_NAME || 'cqrs-es-example-ts' }),
    idGenerator: new RequestedOrXRayIds(),
    spanProcessors: [processor],
  });
  context.setGlobalContextManager(manager);
  propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new XRayPropagator()] }));
  trace.setGlobalTracerProvider(provider);
  return {
    flush: () => provider.forceFlush(),
    flushEachRequest: flushEachRequest ?? false,
    stop: async () => {
      try {
        await provider.shutdown();
      } finally {
        trace.disable();
        propagation.disable();
        context.disable();
      }
    },
  };
}
