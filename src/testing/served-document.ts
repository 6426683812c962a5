import { closeTestDynamoDb, freshEventStore } from './stores.ts';
import { appServer } from './app-server.ts';
import type { AppServerOptions } from './app-server.ts';
import type { ProjectionDatabase } from '../modules/projection/index.ts';
import type { EventStore } from '../eventstore/index.ts';
import type { OpenApiDocument } from './described-operations.ts';

export type { OpenApiDocument } from './described-operations.ts';

/** Both modules with `/openapi.json` and `/documentation`, as `npm start` serves them. */
export async function documentedServer(store: EventStore, database: ProjectionDatabase, options: AppServerOptions = {}) {
  const api = await appServer(store, database, { ...options, documented: true });
  const served = await api.server.inject('/openapi.json');
  // A route whose schemas cannot be made (a path parameter or body field without one) fails the description.
  if (served.statusCode !== 200) throw new Error(`/openapi.json answered ${served.statusCode} (${served.payload}): a route's schemas could not be made; \`npx tsc --noEmit\` names the route`);
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
