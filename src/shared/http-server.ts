import { randomUUID } from 'node:crypto';
import { createServer as createNodeServer } from 'node:http';
import type { IncomingMessage, Server as NodeServer, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import Accept from '@hapi/accept';
import Boom from '@hapi/boom';
import Hapi from '@hapi/hapi';
import type { Request, ResponseToolkit, Server, ServerOptions } from '@hapi/hapi';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, propagation, trace } from '@opentelemetry/api';
import type { Span } from '@opentelemetry/api';
import { corsExposedHeaders, corsMaxAgeSeconds, corsRequestHeaders } from './cors.ts';
import { logFailedResponses } from './http-errors.ts';
import { contextField, requestIdOf } from './request-id.ts';
import { enterContext, requestEnded, tracer, tracingEnabled } from './tracing.ts';

/** Largest accepted request body (docs/api.md, limits): anything bigger is 413. */
export const maxBodyBytes = 16 * 1024;

/**
 * How long a caller may take to send a request (docs/api.md, limits): its headers within 10 s,
 * the whole of it, body included, within 15 s; past either it is 408 and the connection closes.
 * Node's own defaults (60 s, 5 min) let a body trickling in one byte at a time hold a connection
 * for minutes, and hapi's 10 s payload timeout does not end it (hapi waits for the rest of the body
 * before it answers). A connection idle between requests closes after Node's 5 s.
 */
export const requestDeadlines = { headersMs: 10_000, requestMs: 15_000 } as const;

/**
 * A hapi server with the project's defaults: validation failures name the field (400, never a
 * generic message), bodies are JSON only and capped, unexpected errors never leak a stack trace, every
 * response carries `x-request-id` and `x-content-type-options: nosniff`, a 500 or a 503 with a
 * cause is logged (`logFailedResponses`), and no malformed connection can stop the process.
 */
export function createHttpServer(
  options: Pick<ServerOptions, 'port' | 'host'> & {
    readonly deadlines?: { readonly headersMs: number; readonly requestMs: number };
    /** Origins whose pages may call the API from a browser (src/shared/cors.ts); none by default. */
    readonly corsOrigins?: readonly string[];
  } = {},
) {
  const { deadlines = requestDeadlines, corsOrigins = [], ...listen } = options;
  const server = Hapi.server({
    ...listen,
    listener: createNodeServer({
      headersTimeout: deadlines.headersMs,
      requestTimeout: deadlines.requestMs,
      // How often Node looks for requests past their deadline: a deadline is kept to within a second.
      connectionsCheckingInterval: Math.min(1_000, deadlines.headersMs, deadlines.requestMs),
    }),
    // Errors are logged by the logging plugin where one is registered; no console noise.
    debug: false,
    router: { stripTrailingSlash: true },
    routes: {
      // Every body this service takes is JSON (the description says so): anything else is a 415.
      payload: { maxBytes: maxBodyBytes, allow: 'application/json' },
      cors:
        corsOrigins.length === 0
          ? false
          : {
              origin: [...corsOrigins],
              headers: [...corsRequestHeaders],
              exposedHeaders: [...corsExposedHeaders],
              maxAge: corsMaxAgeSeconds,
              credentials: false,
            },
      validate: {
        // hapi's default hides the reason; a client needs to know which field is wrong.
        failAction: (_request: Request, _h: ResponseToolkit, error?: Error) => {
          throw error;
        },
        options: { abortEarly: true, errors: { wrap: { label: '"' } } },
      },
    },
  });
  // hapi names its request ids after the host and the process; nothing of that may leave it.
  (server.info as { id: string }).id = randomUUID();
  const ids = new WeakMap<IncomingMessage, string>();
  // Before hapi sees the request (hapi reads Accept-Encoding, and may log, before any extension
  // point runs): the request id is settled, and both headers go on the outgoing message itself,
  // so no later step that replaces the response (a plugin's error mapping, a validation failure,
  // an unknown route) can drop them.
  const settle = (req: IncomingMessage, res: ServerResponse): string => {
    let id = ids.get(req);
    if (id === undefined) {
      id = requestIdOf(req.headers);
      ids.set(req, id);
      res.setHeader('x-request-id', id);
      res.setHeader('x-content-type-options', 'nosniff');
      dropMalformedAcceptEncoding(req);
    }
    return id;
  };
  (server.listener as NodeServer).prependListener('request', settle);
  server.ext('onRequest', (request, h) => {
    // Ours is the id that logs and clients see (`server.inject` skips the listener: settled here).
    (request.info as { id: string }).id = settle(request.raw.req, request.raw.res);
    if (tracingEnabled()) startServerSpan(request);
    // URL parsing resolves `.` and `..` segments (`DELETE …/members/..` would become a delete of
    // the chat): a path is taken as sent or refused, never routed somewhere it did not name.
    if (hasDotSegment(request.raw.req.url)) return h.response({ statusCode: 400, error: 'Bad Request', message: 'path must not contain . or .. segments' }).code(400).takeover();
    return h.continue;
  });
  if (tracingEnabled()) server.events.on('response', endServerSpan);
  // An answer of a route that needs a token is the caller's alone: no shared cache may keep it,
  // and no browser may store it (hapi's default is `no-cache`, which allows both). Errors too.
  server.ext('onPreResponse', (request, h) => {
    if (!request.route.settings.auth) return h.continue;
    const { response } = request;
    if (Boom.isBoom(response)) response.output.headers['cache-control'] = 'private, no-store';
    else response.header('cache-control', 'private, no-store');
    return h.continue;
  });
  logFailedResponses(server);
  answerMalformedConnections(server);
  answerOversizedChunkedBodies(server);
  refuseDeclaredOversizedBodies(server);
  return server;
}

/**
 * A body without a Content-Length (chunked) that grows past the limit: hapi's reader destroys the
 * request, and with it the socket, the moment it reads a byte too many, so the caller got no answer
 * at all (a declared length is refused with 413 before anything is read). For such a request,
 * destroying it while its connection is still open only stops reading it: hapi then answers 413 as
 * for a declared length, and the connection closes once that answer is out. A connection that is
 * already gone is destroyed as before.
 */
function answerOversizedChunkedBodies(server: Server): void {
  server.ext('onRequest', (request, h) => {
    const req = request.raw.req;
    if (req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] === undefined) return h.continue;
    const destroy = req.destroy.bind(req);
    req.destroy = (error?: Error) => {
      const { socket } = req;
      if (!socket || socket.destroyed || !socket.writable) return destroy(error);
      req.unpipe();
      req.pause();
      const res = request.raw.res;
      if (!res.headersSent) res.setHeader('connection', 'close');
      res.once('finish', () => socket.destroySoon());
      return req;
    };
    return h.continue;
  });
}

/**
 * A body whose Content-Length is over the route's limit is refused with 413 before any of it is
 * read: hapi would read (and drop) the whole body first, so one sent slowly got a 408 at the
 * request deadline instead. The rest of the body is then discarded as it arrives, not cut off: a
 * client still uploading would otherwise see its connection reset instead of the 413, and one
 * trickling is still stopped at the request deadline. The token still comes first (docs/api.md, order of checks):
 * hapi reads a body before the extension points that follow authentication, so a route's own
 * strategy is asked here, and a caller it refuses gets hapi's 401 as before.
 */
function refuseDeclaredOversizedBodies(server: Server): void {
  server.ext('onPreAuth', async (request, h) => {
    const declared = Number(request.headers['content-length']);
    const { maxBytes } = request.route.settings.payload ?? {};
    if (!Number.isFinite(declared) || maxBytes === undefined || declared <= maxBytes) return h.continue;
    const auth = request.route.settings.auth as { strategies?: string[] } | false | undefined;
    if (auth && !(await authenticates(request, auth.strategies ?? []))) return h.continue;
    // Discarded as it arrives, on a connection that stays open: hapi would otherwise answer with
    // `Connection: close` for a body it has not read, and a client still sending would meet a
    // closed socket (EPIPE) instead of reading its 413. The request deadline still ends a trickle.
    (request as unknown as { _isPayloadPending: boolean })._isPayloadPending = false;
    request.raw.req.resume();
    return h
      .response({ statusCode: 413, error: 'Request Entity Too Large', message: `Payload content length greater than maximum allowed: ${maxBytes}` })
      .code(413)
      .takeover();
  });
}

async function authenticates(request: Request, strategies: readonly string[]): Promise<boolean> {
  for (const strategy of strategies) {
    try {
      await request.server.auth.test(strategy, request);
      return true;
    } catch {
      // the next strategy, if any; hapi answers 401 when none accepts
    }
  }
  return false;
}

/** Whether a raw request target's path holds a `.` or `..` segment, also percent-encoded. */
export function hasDotSegment(target: string | undefined): boolean {
  const path = (target ?? '').split(/[?#]/, 1)[0]!;
  return path.split('/').some((segment) => /^(?:\.|%2e){1,2}$/i.test(segment));
}

const serverSpans = new WeakMap<Request, Span>();

/**
 * The request's server span, a child of the caller's `traceparent` or
 * `X-Amzn-Trace-Id` when it sent one. This runs in the first onRequest hook, which hapi calls
 * synchronously as the request arrives: the span's context entered here is the active one for
 * everything the request does afterwards (auth, handler, store calls), with no hook around them.
 */
function startServerSpan(request: Request): void {
  // In Lambda the invocation's own trace (the segment active tracing records) comes first: the
  // adapter passes it as `xray_trace_id` in `x-amzn-lambda-context`, a header it sets on every
  // request it forwards and no client can send through it. Elsewhere the caller's headers.
  const invocation = contextField(request.headers['x-amzn-lambda-context'] as string | undefined, 'xray_trace_id');
  const carrier = invocation === undefined ? request.headers : { 'x-amzn-trace-id': invocation };
  const parent = propagation.extract(ROOT_CONTEXT, carrier);
  // Started inside the caller's context: a request naming an X-Ray trace without a parent span
  // gets its root span in that trace (the id generator reads the context).
  const span = context.with(parent, () =>
    tracer().startSpan(
      request.method.toUpperCase(),
      {
        kind: SpanKind.SERVER,
        attributes: { 'http.request.method': request.method.toUpperCase(), 'url.path': request.path.slice(0, 256), 'http.request.id': request.info.id },
      },
      parent,
    ),
  );
  serverSpans.set(request, span);
  enterContext(trace.setSpan(parent, span));
}

function endServerSpan(request: Request): void {
  const span = serverSpans.get(request);
  if (!span) return;
  const status = (request.response as { statusCode?: number } | null)?.statusCode ?? request.raw.res.statusCode;
  const route = request.route.path;
  span.updateName(`${request.method.toUpperCase()} ${route}`);
  span.setAttributes({ 'http.route': route, 'http.response.status_code': status });
  if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
  requestEnded();
}

/** The trace id of the request's server span, when tracing records it. */
export function traceIdOf(request: Request): string | undefined {
  return serverSpans.get(request)?.spanContext().traceId;
}

/**
 * A malformed Accept-Encoding only costs the client compression, but hapi logs it as a request
 * error before any extension point runs: anyone could fill the error log with it. Such a header
 * is dropped, and the answer is simply not compressed.
 */
function dropMalformedAcceptEncoding(req: IncomingMessage): void {
  const header = req.headers['accept-encoding'];
  if (header === undefined) return;
  try {
    if (header.length > 1_024) throw new Error('too long');
    Accept.encodings(header);
  } catch {
    delete req.headers['accept-encoding'];
  }
}

const parserAnswers: Record<string, { status: number; error: string; message: string }> = {
  HPE_HEADER_OVERFLOW: { status: 431, error: 'Request Header Fields Too Large', message: 'the request headers are too large' },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, error: 'Request Timeout', message: 'the request did not arrive in time' },
};
const malformed = { status: 400, error: 'Bad Request', message: 'the request is not valid HTTP' };

/**
 * The answer to bytes Node's parser refused, written straight to the socket (there is no request):
 * a JSON error body like every other answer's, with its own request id (also in the log line) and
 * `nosniff`, and the connection closed.
 */
const parserStatus = (code: string | undefined): number => (parserAnswers[code ?? ''] ?? malformed).status;

export function parserAnswer(code: string | undefined, requestId: string): string {
  const { status, error, message } = parserAnswers[code ?? ''] ?? malformed;
  const body = JSON.stringify({ statusCode: status, error, message });
  return [
    `HTTP/1.1 ${status} ${error}`,
    'Connection: close',
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'X-Content-Type-Options: nosniff',
    `X-Request-Id: ${requestId}`,
    '',
    body,
  ].join('\r\n');
}

/**
 * What happens when Node's HTTP parser rejects bytes on a connection ('clientError').
 *
 * hapi's own handler answers through the request that is still in flight on that connection
 * (`request._reply`) while that request's lifecycle keeps running. When the lifecycle then sets
 * its own response (a payload that failed to parse, a handler's result), hapi closes the error
 * response it is writing, its marshalling asserts, and the assertion escapes as an unhandled
 * rejection: the process exits. (The same family as hapijs/hapi#4363; hapi 21.3.5 fixed only the
 * pipelined HPE_INVALID_METHOD case, which is why 21.4 still has it.) One request with a body
 * that does not parse, `Connection: close` and a few bytes past its Content-Length is enough.
 *
 * This handler never touches a request: a request whose body arrived whole gets its own answer,
 * after which the connection is closed; anything else gets the status Node itself would send
 * (400, 431, 408) and the connection is closed at once.
 */
function answerMalformedConnections(server: Server): void {
  const listener = server.listener as NodeServer;
  const inFlight = new WeakMap<Socket, { req: IncomingMessage; res: ServerResponse }>();
  const track = (req: IncomingMessage, res: ServerResponse) => {
    const exchange = { req, res };
    inFlight.set(req.socket, exchange);
    const forget = () => {
      if (inFlight.get(req.socket) === exchange) inFlight.delete(req.socket);
    };
    // An answer given before its body is in (a 413) leaves the request in flight until the body
    // has been discarded: a deadline meanwhile must not answer it a second time.
    res.once('close', () => (req.complete ? forget() : req.once('end', forget).once('close', forget)));
  };
  listener.on('request', track);
  listener.on('checkContinue', track);
  listener.removeAllListeners('clientError');
  listener.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    // The code only: the error also carries the raw bytes (rawPacket), credentials included.
    const requestId = randomUUID();
    server.log(['connection', 'client', error.code === 'ECONNRESET' ? 'debug' : 'warn'], { code: error.code ?? error.name, requestId });
    const exchange = inFlight.get(socket);
    // A request answered before its body arrived (a body still trickling in after a 401 or a
    // 413) gets no second answer; nothing more is read from it either.
    const answeredEarly = exchange !== undefined && !exchange.req.complete && exchange.res.headersSent;
    const close = () => {
      if (!socket.writable || answeredEarly) {
        socket.destroy();
        return;
      }
      // The request still in flight here ends with this answer: its log line says so (Node's
      // response would otherwise report its default 200 for a request nobody answered).
      if (exchange && !exchange.req.complete && !exchange.res.headersSent) exchange.res.statusCode = parserStatus(error.code);
      // Once the answer is out the connection is dropped, not half-closed: a caller still sending
      // would otherwise keep it open.
      socket.end(parserAnswer(error.code, requestId), () => socket.destroy());
    };
    if (exchange && exchange.req.complete && !exchange.res.writableFinished) exchange.res.once('close', close);
    else close();
  });
}
