import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { createServer, request as httpRequest } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { SignJWT } from 'jose';
import pg from 'pg';
import { ensureEventsTable } from '../../src/eventstore/events-table.ts';
import { createDynamoDbClient } from '../../src/eventstore/dynamodb-event-store.ts';
import { startDynamoDbLocal } from './dynamodb-local.ts';
import type { DynamoDbLocal } from './dynamodb-local.ts';
import { StreamPoller } from './poller.ts';
import { startFunction } from './processes.ts';
import type { Function } from './processes.ts';

/**
 * The AWS topology (ARCHITECTURE.md, infrastructure), rehearsed on one machine with AWS's own
 * DynamoDB emulator:
 *
 *   client ─► router (API Gateway: /Stage/command/* → command, /Stage/query/* → query; the
 *             adapter's AWS_LWA_REMOVE_BASE_PATH strips /Stage)
 *   command function (dist/command, Dockerfile.command) ─► DynamoDB Local (Streams on)
 *   DynamoDB Local stream ─► poller (the event source mapping, INSERT filter, batches of 100)
 *                         ─► projector function (dist/projector, Dockerfile.query + CMD override) ─► Postgres
 *   query function (dist/query, Dockerfile.query) ─► Postgres (and the log, for consistency tokens)
 *
 * Each function is its own process started from its Dockerfile's ENTRYPOINT/CMD and ENV, with
 * the environment its stack sets. Identity is a JWKS served here (RS256), as a provider would.
 * Postgres is the one of DATABASE_URL, in a schema of its own that `stop` drops.
 */
export interface Rehearsal {
  /** The router's base URL, stage included: `${url}/command/v1/...`, `${url}/query/v1/...`. */
  readonly url: string;
  /** The identity provider: `${idp}/token/<user>` answers a bearer token, `${idp}/jwks.json` the keys. */
  readonly idp: string;
  readonly dynamoDbLocal: DynamoDbLocal;
  readonly poller: StreamPoller;
  readonly functions: readonly Function[];
  /** The projector function: stopped and started again on its port (a function that is down), and invoked as `aws lambda invoke` would. */
  readonly projector: {
    stop(): Promise<void>;
    start(): Promise<void>;
    invoke(payload: unknown): Promise<{ status: number; body: unknown }>;
  };
  readonly logDir: string;
  token(user: string): Promise<string>;
  stop(): Promise<void>;
}

export interface RehearsalOptions {
  /** Folder holding command/, query/ and projector/ bundles (`npm run build` output). */
  readonly bundlesDir: string;
  /** A Postgres the query and projector functions use (a schema of their own is made and dropped). */
  readonly databaseUrl: string;
  readonly logDir?: string;
  readonly routerPort?: number;
  /** The poller's longest wait between retries (shorter in tests that exhaust them). */
  readonly retryDelayCapMs?: number;
}

const region = 'eu-west-1';
const issuer = 'https://idp.rehearsal.invalid';
const audience = 'cqrs-es-example-ts';

export async function startRehearsal(options: RehearsalOptions): Promise<Rehearsal> {
  const stops: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const step of stops.reverse()) await step().catch(() => undefined);
    stops.length = 0;
  };
  try {
    const logDir = options.logDir ?? (await mkdtemp(join(tmpdir(), 'cqrs-rehearsal-')));
    await mkdir(logDir, { recursive: true });

    const idp = await identityProvider();
    stops.push(() => closeServer(idp.server));

    const dynamoDbLocal = await startDynamoDbLocal();
    stops.push(() => dynamoDbLocal.stop());
    const tableName = 'events';
    const client = createDynamoDbClient({ endpoint: dynamoDbLocal.endpoint, region });
    await ensureEventsTable(client, tableName);
    const streamArn = (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table?.LatestStreamArn;
    client.destroy();
    if (!streamArn) throw new Error('the events table has no stream');

    const schema = `rehearsal_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    stops.push(() => dropSchema(options.databaseUrl, schema));
    const aws = { AWS_REGION: region, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', DYNAMODB_ENDPOINT: dynamoDbLocal.endpoint, EVENTS_TABLE: tableName, LOG_LEVEL: 'info' };
    const identity = { JWT_JWKS_URL: `${idp.url}/jwks.json`, JWT_ISSUER: issuer, JWT_AUDIENCE: audience };
    const database = { DATABASE_URL: options.databaseUrl, DATABASE_SCHEMA: schema };
    const functions: Function[] = [];
    const launch = async (settings: Omit<Parameters<typeof startFunction>[0], 'bundlesDir' | 'logFile'>) => {
      const fn = await startFunction({ ...settings, bundlesDir: options.bundlesDir, logFile: join(logDir, `${settings.name}.log`) });
      stops.push(() => fn.stop());
      functions.push(fn);
      return fn;
    };
    const command = await launch({ name: 'command', dockerfile: 'Dockerfile.command', env: { ...aws, ...identity } });
    const query = await launch({ name: 'query', dockerfile: 'Dockerfile.query', env: { ...aws, ...identity, ...database } });
    // The projector function: the query image with its own CMD and settings, and no identity.
    const projectorSettings = {
      name: 'projector',
      dockerfile: 'Dockerfile.query',
      cmd: ['/app/projector/index.mjs'],
      env: { ...aws, ...database, AWS_LWA_READINESS_CHECK_PATH: '/projector/healthcheck', AWS_LWA_ERROR_STATUS_CODES: '201-599' },
    };
    let projector = await launch(projectorSettings);
    const invokeUrl = `http://127.0.0.1:${projector.port}${projector.env.AWS_LWA_PASS_THROUGH_PATH ?? '/events'}`;

    const poller = new StreamPoller({
      endpoint: dynamoDbLocal.endpoint,
      region,
      streamArn,
      invokeUrl,
      ...(options.retryDelayCapMs === undefined ? {} : { retryDelayCapMs: options.retryDelayCapMs }),
    });
    poller.start();
    stops.push(() => poller.stop());

    const router = apiGateway([
      { prefix: '/Stage/command/', target: command },
      { prefix: '/Stage/query/', target: query },
    ]);
    await new Promise<void>((resolve) => router.listen(options.routerPort ?? 0, '127.0.0.1', resolve));
    stops.push(() => closeServer(router));
    const url = `http://127.0.0.1:${(router.address() as AddressInfo).port}/Stage`;

    const projectorControl = {
      stop: () => projector.stop(),
      start: async () => {
        projector = await launch({ ...projectorSettings, port: projector.port });
      },
      // What the adapter does with an invocation that is not an HTTP request: posts it to the pass-through path.
      invoke: async (payload: unknown) => {
        const response = await fetch(invokeUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) });
        const text = await response.text();
        return { status: response.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
      },
    };
    return { url, idp: idp.url, dynamoDbLocal, poller, functions, projector: projectorControl, logDir, token: idp.token, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** An OpenID-style provider reduced to what the services use: an RS256 key in a JWKS, and tokens. */
async function identityProvider() {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = `rehearsal-${randomUUID().slice(0, 8)}`;
  const jwks = JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' }] });
  const token = (user: string) =>
    new SignJWT({ sub: user }).setProtectedHeader({ alg: 'RS256', kid }).setIssuer(issuer).setAudience(audience).setIssuedAt().setExpirationTime('12h').sign(privateKey);
  const server = createServer((request, response) => {
    const user = /^\/token\/([A-Za-z0-9_-]{1,64})$/.exec(request.url ?? '')?.[1];
    if (request.url === '/jwks.json') {
      response.setHeader('content-type', 'application/json');
      return void response.end(jwks);
    }
    if (user) {
      void token(user).then((value) => {
        response.setHeader('content-type', 'text/plain');
        response.end(value);
      });
      return;
    }
    response.statusCode = 404;
    response.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, token };
}

/**
 * API Gateway's part: routes by path prefix to a function and passes the request on as the
 * adapter would hand it to the server, with the function's AWS_LWA_REMOVE_BASE_PATH stripped.
 * Nothing else is routable (like the HTTP API's `/command/{proxy+}` and `/query/{proxy+}`).
 */
function apiGateway(routes: readonly { readonly prefix: string; readonly target: Function }[]): Server {
  return createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = request.url ?? '/';
    const route = routes.find((r) => path.startsWith(r.prefix));
    if (!route) {
      response.statusCode = 404;
      response.setHeader('content-type', 'application/json');
      return void response.end('{"message":"Not Found"}');
    }
    const base = route.target.env.AWS_LWA_REMOVE_BASE_PATH ?? '';
    const forwarded = base && path.startsWith(`${base}/`) ? path.slice(base.length) : path;
    const upstream = httpRequest(
      { host: '127.0.0.1', port: route.target.port, method: request.method, path: forwarded, headers: { ...request.headers, host: `127.0.0.1:${route.target.port}` } },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    upstream.on('error', () => {
      if (!response.headersSent) response.writeHead(502, { 'content-type': 'application/json' });
      response.end('{"message":"Internal Server Error"}');
    });
    request.pipe(upstream);
  });
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

async function dropSchema(databaseUrl: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(`drop schema if exists "${schema}" cascade`);
  } finally {
    await client.end();
  }
}
