import { sql } from 'kysely';
import t from 'tap';
import { openDatabase } from './index.ts';

t.test('the embedded database runs with its memory sized for a local process', async (t) => {
  const database = await openDatabase({ schema: 'projections' });
  t.teardown(() => database.close());
  t.equal(database.kind, 'pglite');
  const { rows } = await sql<{ shared: string; wal: string; maintenance: string; search: string }>`
    select current_setting('shared_buffers') as shared, current_setting('wal_buffers') as wal,
           current_setting('maintenance_work_mem') as maintenance, current_setting('search_path') as search`.execute(database.db);
  t.same(rows, [{ shared: '16MB', wal: '1MB', maintenance: '16MB', search: 'public' }], 'and keeps PGlite\'s own start parameters');
});
