import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import t from 'tap';
import { openDatabase } from './index.ts';
import { openEmbeddedDatabase } from '../../testing/databases.ts';

t.test('the embedded database runs with its memory sized for a local process', async (t) => {
  const database = await openEmbeddedDatabase({ schema: 'projections' });
  t.teardown(() => database.close());
  t.equal(database.kind, 'pglite');
  const { rows } = await sql<{ shared: string; wal: string; maintenance: string; search: string }>`
    select current_setting('shared_buffers') as shared, current_setting('wal_buffers') as wal,
           current_setting('maintenance_work_mem') as maintenance, current_setting('search_path') as search`.execute(database.db);
  t.same(rows, [{ shared: '16MB', wal: '1MB', maintenance: '16MB', search: 'public' }], 'and keeps PGlite\'s own start parameters');
});

// A new data folder initialised once, then opened as it is: src/adversarial/pglite-data-dir.slow.test.ts,
// under a folder name that looks like an option (one initdb serves both questions).

t.test('a data folder that cannot be initialised is an error that names it', async (t) => {
  const parent = await mkdtemp(join(tmpdir(), 'cqrs-pglite-'));
  t.teardown(() => rm(parent, { recursive: true, force: true }));
  const file = join(parent, 'not-a-folder');
  await writeFile(file, 'x');
  await t.rejects(openDatabase({ dataDir: join(file, 'pglite') }), { message: new RegExp(`initialising the PGlite database in ${file}`) });
});
