import type { Server } from '@hapi/hapi';
import addFormats from 'ajv-formats';
import { OpenAPIBackend, OpenAPIValidator, SetMatchType } from 'openapi-backend';
import type { Document } from 'openapi-backend';
import { issueToken } from '../shared/auth.ts';
import { testSecret } from './command-server.ts';
import type { OpenApiDocument } from './served-document.ts';

export interface Exchange {
  readonly method: string;
  readonly url: string;
  readonly status: number;
  readonly headers: Record<string, unknown>;
  readonly payload: string;
}

/**
 * Holds answers to the served description with openapi-backend (ajv underneath): the operation
 * exists, the status is declared, the body matches the declared schema and every declared header
 * is there. Remembers which status of which operation it saw, so a scenario can prove that it
 * produced every documented one.
 */
export async function contractOf(document: OpenApiDocument) {
  // The backend checks the description itself (strict) and routes; requests are never validated.
  const api = new OpenAPIBackend({ definition: structuredClone(document) as unknown as Document, strict: true, validate: false });
  await api.init();
  // Answers are checked by validators compiled on first use, one per operation and status seen:
  // compiling every request and response schema up front costs seconds no check needs.
  const validator = new OpenAPIValidator({
    definition: api.definition,
    router: api.router,
    lazyCompileValidators: true,
    customizeAjv: (ajv) => {
      addFormats.default(ajv);
      return ajv;
    },
  });
  const seen = new Set<string>();

  /** What is wrong with this answer, in words; empty when it is what the description says. */
  const problems = (exchange: Exchange): string[] => {
    const url = new URL(exchange.url, 'http://localhost');
    const operation = api.router.matchOperation({
      method: exchange.method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: {},
    });
    const name = `${exchange.method} ${url.pathname} → ${exchange.status}`;
    if (!operation) return [`${name}: no such operation`];
    const declared = operation.responses?.[String(exchange.status)];
    if (!declared) return [`${name}: status ${exchange.status} is not documented for ${operation.operationId}`];
    seen.add(`${operation.operationId} ${exchange.status}`);
    const found: string[] = [];
    const type = String(exchange.headers['content-type'] ?? '');
    const body: unknown = type.startsWith('application/json') ? JSON.parse(exchange.payload) : exchange.payload;
    const media = Object.keys((declared as { content?: object }).content ?? {});
    if (media.length > 0 && !media.some((m) => type.startsWith(m))) found.push(`${name}: content-type ${type}, documented ${media.join(', ')}`);
    const bodyCheck = validator.validateResponse(body, operation, exchange.status);
    for (const error of bodyCheck.errors ?? []) found.push(`${name}: body ${error.instancePath} ${error.message}`);
    const headerCheck = validator.validateResponseHeaders(exchange.headers, operation, { statusCode: exchange.status, setMatchType: SetMatchType.Superset });
    for (const error of headerCheck.errors ?? []) found.push(`${name}: headers ${error.instancePath} ${error.message}`);
    return found;
  };

  /** Every `operationId status` the description declares. */
  const documented = (): string[] =>
    Object.values(document.paths).flatMap((methods) =>
      Object.values(methods).flatMap((operation) => Object.keys(operation.responses).map((status) => `${operation.operationId} ${status}`)),
    );

  return { problems, documented, seen };
}

export interface SendOptions {
  readonly user?: string;
  readonly payload?: unknown;
  readonly headers?: Record<string, string>;
}

/** `server.inject` with a bearer token for `user`, every answer checked against the contract. */
export function checkedClient(server: Server, contract: Awaited<ReturnType<typeof contractOf>>, onProblem: (problems: string[], exchange: Exchange) => void) {
  return async (method: string, url: string, options: SendOptions = {}) => {
    const response = await server.inject({
      method,
      url,
      headers: { ...(options.user ? { authorization: `Bearer ${issueToken(options.user, testSecret)}` } : {}), ...options.headers },
      ...(options.payload === undefined ? {} : { payload: options.payload as object }),
    });
    const exchange: Exchange = { method, url, status: response.statusCode, headers: response.headers, payload: response.payload };
    onProblem(contract.problems(exchange), exchange);
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(response.payload) as Record<string, unknown>;
    } catch {
      // a text answer (health)
    }
    return { status: response.statusCode, body, headers: response.headers };
  };
}
