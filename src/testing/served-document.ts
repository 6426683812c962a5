import { closeTestDynamoDb, freshEventStore } from './stores.ts';
import { appServer } from './app-server.ts';
import type { AppServerOptions } from './app-server.ts';
import type { ProjectionDatabase } from '../modules/query/index.ts';
import type { EventStore } from '../eventstore/index.ts';

export type OpenApiDocument = Record<string, unknown> & {
  paths: Record<string, Record<string, { operationId: string; responses: Record<string, unknown>; requestBody?: unknown; security?: unknown[] }>>;
  components: { schemas: Record<string, unknown>; headers: Record<string, unknown>; parameters: Record<string, unknown> };
};

/** Both modules with `/openapi.json` and `/documentation`, as `npm start` serves them. */
export async function documentedServer(store: EventStore, database: ProjectionDatabase, options: AppServerOptions = {}) {
  const api = await appServer(store, database, { ...options, documented: true });
  const served = await api.server.inject('/openapi.json');
  return { ...api, document: JSON.parse(served.payload) as OpenApiDocument };
}

/** The served description alone, from a server over a fresh store (closed again afterwards). */
export async function servedDocument(database: ProjectionDatabase): Promise<OpenApiDocument> {
  const { store } = await freshEventStore();
  try {
    const { document, server } = await documentedServer(store, database);
    await server.stop();
    return document;
  } finally {
    await closeTestDynamoDb();
  }
}
