import { AsyncLocalStorage } from 'node:async_hooks';
import { INVALID_SPAN_CONTEXT, ROOT_CONTEXT, SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import type { Attributes, Context, ContextManager, Link, Span, Tracer } from '@opentelemetry/api';
import type { SpanExporter } from '@opentelemetry/sdk-trace';

/**
 * Tracing (README.md, traces) through the OpenTelemetry API. This file is all that every process loads:
 * the API alone, whose tracer does nothing until an SDK is installed. The SDK and its exporters
 * (`tracing-sdk.ts`) are imported only when the `OTEL_*` settings ask for traces, so with tracing
 * off a cold start parses none of it and a span costs one branch.
 */

const tracerName = 'cqrs-es-example-ts';
let currentTracer: Tracer = trace.getTracer(tracerName);

/** The project's one tracer; its spans go nowhere until `startTracing` installed the SDK. */
export function tracer(): Tracer {
  return currentTracer;
}

let enabled = false;

/** Whether spans are recorded in this process (tests and the entries ask before costly work). */
export function tracingEnabled(): boolean {
  return enabled;
}

/**
 * The context manager: OpenTelemetry's own keeps contexts in AsyncLocalStorage too, but offers no
 * way to enter a context for the rest of an asynchronous flow. hapi runs a request's lifecycle as a
 * chain no hook wraps, so the request's first hook enters the server span's context (`enter`), and
 * everything the request then awaits (handler, store calls) runs inside it.
 */
export class RequestContextManager implements ContextManager {
  readonly #storage = new AsyncLocalStorage<Context>();

  active(): Context {
    return this.#storage.getStore() ?? ROOT_CONTEXT;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    return this.#storage.run(ctx, () => fn.apply(thisArg, args));
  }

  bind<T>(ctx: Context, target: T): T {
    if (typeof target !== 'function') return target;
    const run = (...args: unknown[]) => this.with(ctx, () => (target as (...a: unknown[]) => unknown)(...args));
    return run as T;
  }

  /** `ctx` is the active context from here to the end of the current asynchronous flow. */
  enter(ctx: Context): void {
    this.#storage.enterWith(ctx);
  }

  enable(): this {
    return this;
  }

  disable(): this {
    this.#storage.disable();
    return this;
  }
}

let contextManager: RequestContextManager | undefined;
let flushEachRequest: (() => void) | undefined;

/**
 * Called as a request ends: sends its spans at once where the process may be frozen next
 * (Lambda); elsewhere they go with the next batch.
 */
export function requestEnded(): void {
  flushEachRequest?.();
}

/** Makes `ctx` the active context for the rest of the current asynchronous flow (a no-op when off). */
export function enterContext(ctx: Context): void {
  contextManager?.enter(ctx);
}

export interface Tracing {
  /** Sends what is buffered (a Lambda function may be frozen right after a response). */
  flush(): Promise<void>;
  /** Flushes and stops recording. */
  stop(): Promise<void>;
}

export interface TracingOptions {
  /** Spans go here instead of the exporter the settings name (tests: an in-memory exporter). */
  readonly exporter?: SpanExporter;
}

/**
 * Whether the `OTEL_*` settings ask for traces: an OTLP endpoint, or `OTEL_TRACES_EXPORTER` naming
 * an exporter; never with `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`.
 */
export function tracingRequested(env: NodeJS.ProcessEnv): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  const exporter = env.OTEL_TRACES_EXPORTER?.trim().toLowerCase();
  if (exporter === 'none') return false;
  return Boolean(exporter || env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/**
 * Installs the OpenTelemetry SDK when the settings ask for it (or a test hands an exporter), and
 * only then loads it. Returns undefined when tracing stays off. Throws for a setting it cannot
 * honour (an unknown exporter or protocol), naming the variable.
 *
 * @example
 * const tracing = await startTracing(process.env); // OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318
 * await tracing?.stop();
 */
export async function startTracing(env: NodeJS.ProcessEnv, options: TracingOptions = {}): Promise<Tracing | undefined> {
  if (!options.exporter && !tracingRequested(env)) return undefined;
  if (enabled) throw new Error('tracing is already started in this process');
  const { installTracing } = await import('./tracing-sdk.ts');
  const manager = new RequestContextManager();
  const installed = await installTracing(env, manager, options.exporter);
  contextManager = manager;
  // Taken from the provider just installed (a tracer taken earlier stays with the one before).
  currentTracer = trace.getTracer(tracerName);
  if (installed.flushEachRequest) flushEachRequest = () => void installed.flush().catch(() => undefined);
  enabled = true;
  return {
    // Spans an unreachable receiver did not take are dropped: tracing never fails a request or a stop.
    flush: () => installed.flush().catch(() => undefined),
    stop: async () => {
      try {
        await installed.stop();
      } catch {
        // as above
      } finally {
        enabled = false;
        contextManager = undefined;
        flushEachRequest = undefined;
      }
    },
  };
}

/**
 * Runs `work` in a span that is the active one while it runs; a thrown error marks the span and
 * goes on. With tracing off, `work` runs as it is.
 */
export async function inSpan<T>(name: string, attributes: Attributes, work: (span: Span) => Promise<T>, options: { kind?: SpanKind; links?: Link[] } = {}): Promise<T> {
  if (!enabled) return work(noSpan);
  return currentTracer.startActiveSpan(name, { attributes, kind: options.kind ?? SpanKind.INTERNAL, links: options.links }, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      failed(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

const noSpan = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/**
 * Marks a span as failed by `error` (its name and message, never its data). A refusal (a Boom
 * with a 4xx status: not found, forbidden, a conflict) is the answer working as it should: an
 * event on the span, which keeps its status.
 */
export function failed(span: Span, error: unknown): void {
  const name = error instanceof Error ? error.name : 'Error';
  const message = (error instanceof Error ? error.message : String(error)).slice(0, 512);
  const status = (error as { isBoom?: boolean; output?: { statusCode?: number } } | null)?.isBoom ? (error as { output: { statusCode: number } }).output.statusCode : undefined;
  if (status !== undefined && status < 500) {
    span.addEvent('refused', { 'http.response.status_code': status, 'exception.message': message });
    return;
  }
  span.recordException({ name, message });
  span.setStatus({ code: SpanStatusCode.ERROR, message: name });
}

const traceparentPattern = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The active span's context as a W3C `traceparent`, when a span is recording; else undefined. */
export function activeTraceparent(): string | undefined {
  if (!enabled) return undefined;
  const span = trace.getSpan(context.active());
  if (!span?.isRecording()) return undefined;
  const { traceId, spanId, traceFlags } = span.spanContext();
  return `00-${traceId}-${spanId}-${(traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/** Whether `text` is a well-formed W3C `traceparent` (version 00) naming a real trace and span. */
export function isTraceparent(text: string): boolean {
  const match = traceparentPattern.exec(text);
  return match !== null && !/^0+$/.test(match[1]!) && !/^0+$/.test(match[2]!);
}

/** A link to the span a stored `traceparent` names (the command that wrote a commit). */
export function linkTo(traceparent: string | undefined, attributes: Attributes = {}): Link | undefined {
  if (traceparent === undefined || !isTraceparent(traceparent)) return undefined;
  const [, traceId, spanId, flags] = traceparentPattern.exec(traceparent)!;
  return { context: { traceId: traceId!, spanId: spanId!, traceFlags: Number.parseInt(flags!, 16), isRemote: true }, attributes };
}

export { SpanKind };
export type { Link, Span };
