/**
 * Writes the TypeScript types of the served OpenAPI description (src/testing/api-types.ts, not
 * committed) with openapi-typescript. `npm run typecheck` runs it first, so the typed client
 * built on them (src/testing/api-client.ts) is compiled against the description as it is now.
 *
 * Describing the routes means loading both modules and hapi-swagger (seconds), so the file
 * records a digest of what the description is made from: the product's source under src/ and
 * the lockfile. When neither changed, the types are left as they are.
 */
import { createHash } from 'node:crypto';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { apiTypesFile } from '../src/testing/generate-api-types.ts';

async function inputsDigest(): Promise<string> {
  const files = (await readdir('src', { recursive: true }))
    .map((file) => join('src', file))
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts') && file !== apiTypesFile)
    .sort();
  const hash = createHash('sha256');
  for (const file of [...files, 'package-lock.json']) hash.update(`${file}\0`).update(await readFile(file)).update('\0');
  return hash.digest('hex');
}

const stamp = `// inputs ${await inputsDigest()}\n`;
const current = await readFile(apiTypesFile, 'utf8').catch(() => '');
if (!current.startsWith(stamp)) {
  const [{ openDatabase }, { generateApiTypes }, { servedDocument }] = await Promise.all([
    import('../src/modules/projection/index.ts'),
    import('../src/testing/generate-api-types.ts'),
    import('../src/testing/served-document.ts'),
  ]);
  // Describing the routes reads no projection: a database that is never reached will do.
  const database = await openDatabase({ url: 'postgres://nobody@127.0.0.1:9/none' });
  try {
    await writeFile(apiTypesFile, stamp + (await generateApiTypes(await servedDocument(database))));
  } finally {
    await database.close();
  }
}
