import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import t from 'tap';
import { openDatabase } from '../modules/projection/index.ts';

/**
 * A data folder's name is data, never an option: the folder is initialised in a child process
 * that gets the path as an argument, so a name that looks like one of node's options (a relative
 * path starting with "-") or holds spaces, quotes and non-ASCII characters is still just a path.
 */

t.test('a data folder named like an option, with spaces, quotes and unicode, is initialised once, then opened as it is', async (t) => {
  const parent = mkdtempSync(join(tmpdir(), 'pglite-names-'));
  const cwd = process.cwd();
  process.chdir(parent);
  t.teardown(() => {
    process.chdir(cwd);
    rmSync(parent, { recursive: true, force: true });
  });
  const dataDir = `--inspect 'a "b" ü`;
  const first = await openDatabase({ dataDir, schema: 'projections' });
  try {
    await sql`create table kept (n int)`.execute(first.db);
    await sql`insert into kept values (7)`.execute(first.db);
  } finally {
    await first.close();
  }
  t.ok(existsSync(join(parent, dataDir, 'PG_VERSION')), 'the database is in the folder of that name');
  // A second open finds the database there and initialises nothing: what was written survives.
  const again = await openDatabase({ dataDir, schema: 'projections' });
  try {
    const { rows } = await sql<{ n: number }>`select n from kept`.execute(again.db);
    t.same(rows, [{ n: 7 }], 'and what was written survives a reopen');
  } finally {
    await again.close();
  }
});
