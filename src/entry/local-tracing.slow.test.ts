import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import t from 'tap';
import { issueToken } from '../shared/auth.ts';
import { childEnv } from '../testing/child-env.ts';

/**
 * The README's scenario (README.md, traces): `npm start` with OTEL_EXPORTER_OTLP_ENDPOINT and
 * OTEL_EXPORTER_OTLP_PROTOCOL=http/json sends the spans of a request that carried a trace header
 * to an OTLP receiver: here a plain HTTP server that parses what arrives at /v1/traces.
 */

interface OtlpSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  readonly links?: readonly { traceId: string; spanId: string }[];
}

const secret = 'local-tracing-test-secret';

async function receiver() {
  const spans: OtlpSpan[] = [];
  const contentTypes = new Set<string>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/traces') {
        contentTypes.add(String(req.headers['content-type']));
        const body = JSON.parse(Buffer.concat(chunks).toString()) as {
          resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[];
        };
        for (const resource of body.resourceSpans) for (const scope of resource.scopeSpans) spans.push(...scope.spans);
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { spans, contentTypes, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

/**
 * Waits for what the probe looks for, for as long as the server lives: spans are exported in
 * batches, after the answers, and a loaded machine delays them. A server that exits ends the wait.
 */
async function until<T>(what: string, probe: () => T | undefined, alive: () => boolean): Promise<T> {
  for (;;) {
    const found = probe();
    if (found !== undefined) return found;
    if (!alive()) throw new Error(`the server exited while waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

t.test('npm start with OTLP/HTTP JSON: the spans of a traced request reach the receiver', async (t) => {
  const otlp = await receiver();
  t.teardown(otlp.close);
  const dataDir = await mkdtemp(join(tmpdir(), 'cqrs-tracing-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/entry/local.ts'], {
    env: childEnv({
      PORT: '0',
      DATA_DIR: dataDir,
      JWT_SECRET: secret,
      LOG_LEVEL: 'info',
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const alive = () => child.exitCode === null && child.signalCode === null;
  t.teardown(async () => {
    child.kill('SIGTERM');
    await exited;
  });
  const lines: string[] = [];
  createInterface({ input: child.stderr }).on('line', (line) => lines.push(line));
  createInterface({ input: child.stdout }).on('line', (line) => lines.push(line));
  const url = await until('the server to listen', () => {
    for (const line of lines) {
      try {
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === 'listening' && entry.url) return entry.url;
      } catch {
        // not a log line
      }
    }
    return undefined;
  }, alive);
  const authorization = `Bearer ${issueToken('alice', secret)}`;
  const json = { authorization, 'content-type': 'application/json' };

  const created = await fetch(`${url}/command/v1/group-chats`, { method: 'POST', headers: json, body: JSON.stringify({ name: 'Traced' }) });
  t.equal(created.status, 201);
  const chat = (await created.json()) as { groupChatId: string };

  // W3C traceparent on a POST …/messages.
  const w3cTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
  const posted = await fetch(`${url}/command/v1/group-chats/${chat.groupChatId}/messages`, {
    method: 'POST',
    headers: { ...json, traceparent: `00-${w3cTrace}-00f067aa0ba902b7-01` },
    body: JSON.stringify({ text: 'hello' }),
  });
  t.equal(posted.status, 201);
  const { token } = (await posted.json()) as { token: string };

  const route = await until('the route span', () => otlp.spans.find((span) => span.traceId === w3cTrace && span.name === 'POST /command/v1/group-chats/{id}/messages'), alive);
  t.equal(route.parentSpanId, '00f067aa0ba902b7', "the route is a child of the caller's span");
  const inTrace = () => otlp.spans.filter((span) => span.traceId === w3cTrace);
  await until('the DynamoDB put', () => inTrace().find((span) => span.name === 'DynamoDB.PutItem'), alive);
  t.ok(inTrace().some((span) => span.name === 'decide and append'));
  t.ok(inTrace().some((span) => span.name === 'DynamoDB.Query'));
  const applied = await until(
    "the projector's span",
    () => otlp.spans.find((span) => span.name === 'projector apply' && (span.traceId === w3cTrace || span.links?.some((link) => link.traceId === w3cTrace))),
    alive,
  );
  t.ok(applied, "the projector's apply belongs to or links to the request's trace");

  // A query with the consistency token, under an X-Ray header naming its trace.
  const xrayTrace = '67891233abcdef012345678912345678';
  const read = await fetch(`${url}/query/v1/group-chats/${chat.groupChatId}/messages`, {
    headers: { authorization, 'x-consistency-token': token, 'x-amzn-trace-id': 'Root=1-67891233-abcdef012345678912345678' },
  });
  t.equal(read.status, 200);
  await until('the query route span', () => otlp.spans.find((span) => span.traceId === xrayTrace && span.name === 'GET /query/v1/group-chats/{id}/messages'), alive);
  const queries = await until('Postgres spans', () => {
    const found = otlp.spans.filter((span) => span.traceId === xrayTrace && span.name.startsWith('postgres '));
    return found.length > 0 ? found : undefined;
  }, alive);
  t.ok(queries.length > 0, 'the Postgres queries of the read, in its trace');
  t.ok(otlp.spans.some((span) => span.traceId === xrayTrace && span.name === 'consistency wait'));

  // And a command under a full X-Ray header: the same trace, its parent honoured.
  const xrayCommand = '5759e988bd862e3fe1be46a994272793';
  const renamed = await fetch(`${url}/command/v1/group-chats/${chat.groupChatId}/rename`, {
    method: 'POST',
    headers: { ...json, 'x-amzn-trace-id': 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1' },
    body: JSON.stringify({ name: 'Renamed' }),
  });
  t.equal(renamed.status, 200);
  const xrayRoute = await until('the X-Ray traced route', () => otlp.spans.find((span) => span.traceId === xrayCommand && span.name.startsWith('POST ')), alive);
  t.equal(xrayRoute.parentSpanId, '53995c3f42cd8ad8');
  t.same([...otlp.contentTypes], ['application/json'], 'OTLP/HTTP with JSON bodies');

  const line = lines.find((text) => text.includes('"request completed"') && text.includes(w3cTrace));
  t.ok(line, 'the request line names the trace');
});
