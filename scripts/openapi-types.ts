/**
 * Writes the TypeScript types of the served OpenAPI description (src/testing/api-types.ts, not
 * committed) with openapi-typescript. `npm run typecheck` runs it first, so the typed client
 * built on them (src/testing/api-client.ts) is compiled against the description as it is now.
 */
import { writeFile } from 'node:fs/promises';
import { openDatabase } from '../src/modules/query/index.ts';
import { apiTypesFile, generateApiTypes } from '../src/testing/generate-api-types.ts';
import { servedDocument } from '../src/testing/served-document.ts';

// Describing the routes reads no projection: a database that is never reached will do.
const database = await openDatabase({ url: 'postgres://nobody@127.0.0.1:9/none' });
try {
  await writeFile(apiTypesFile, await generateApiTypes(await servedDocument(database)));
} finally {
  await database.close();
}
