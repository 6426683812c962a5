import openapiTS, { astToString } from 'openapi-typescript';
import type { OpenAPI3 } from 'openapi-typescript';
import type { OpenApiDocument } from './served-document.ts';

/** Where `npm run typecheck` writes the TypeScript types of the served description. */
export const apiTypesFile = 'src/testing/api-types.ts';

/** The served description as TypeScript types, by openapi-typescript. */
export async function generateApiTypes(document: OpenApiDocument): Promise<string> {
  const types = astToString(await openapiTS(structuredClone(document) as unknown as OpenAPI3, { alphabetize: true }));
  return `// Generated from GET /openapi.json by openapi-typescript by npm run typecheck; do not edit.\n\n${types}`;
}
