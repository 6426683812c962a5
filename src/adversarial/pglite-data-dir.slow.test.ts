import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import t from 'tap';
import { openDatabase } from '../modules/query/index.ts';

/**
 * A data folder's name is data, never an option: the folder is initialised in a child process
 * that gets the path as an argument, so a name that looks like one of node's options (a relative
 * path starting with "-") or holds spaces, quotes and non-ASCII characters is still just a path.
 */

t.test('a data folder named like an option, with spaces, quotes and unicode, is initialised and opened', async (t) => {
  const parent = mkdtempSync(join(tmpdir(), 'pglite-names-'));
  const cwd = process.cwd();
  process.chdir(parent);
  t.teardown(() => {
    process.chdir(cwd);
    rmSync(parent, { recursive: true, force: true });
  });
  const dataDir = `--inspect 'a "b" ü`;
  const database = await openDatabase({ dataDir });
  try {
    const { rows } = await sql<{ one: number }>`select 1 as one`.execute(database.db);
    t.same(rows, [{ one: 1 }]);
  } finally {
    await database.close();
  }
  t.ok(existsSync(join(parent, dataDir, 'PG_VERSION')), 'the database is in the folder of that name');
});
