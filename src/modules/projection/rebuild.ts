import { sql } from 'kysely';
import type { ProjectionDatabase } from './database.ts';
import { migrate } from './migrations.ts';
import { bulkLoad } from './bulk-load.ts';
import { Projector } from './projector.ts';
import type { EventLog } from './log-streams.ts';
import type { CatchUpProgress } from './projector.ts';

export interface RebuildResult {
  /** Commits read from the log. */
  readonly commits: number;
  /** Events applied to the new projection. */
  readonly events: number;
  /** Streams caught up after the swap (written by the live service while the rebuild ran). */
  readonly caughtUpAfterSwap: number;
}

/**
 * Rebuilds every projection from the event log without any query seeing a half-built table:
 * bulk-loads a side schema, swaps it in under the live name in one transaction, then applies
 * what the running service wrote to the old tables meanwhile, and drops the old schema.
 */
export async function rebuildProjections(
  database: ProjectionDatabase,
  log: EventLog,
  options: { onProgress?: (progress: CatchUpProgress) => void; segments?: number } = {},
): Promise<RebuildResult> {
  const live = database.schema;
  const building = `${live}_rebuild`;
  const retired = `${live}_old`;
  const { db } = database;

  await sql`drop schema if exists ${sql.id(building)} cascade`.execute(db);
  await sql`create schema ${sql.id(building)}`.execute(db);
  const buildDb = database.inSchema(building);
  await migrate(buildDb, building);
  const built = await bulkLoad(buildDb, log, options);

  await db.transaction().execute(async (trx) => {
    // Waits for projector transactions still writing the old tables, so none lands after the
    // positions below are read; later ones resolve the live name to the new tables.
    await sql`lock table ${sql.id(live)}.stream_positions in share mode`.execute(trx);
    await sql`drop schema if exists ${sql.id(retired)} cascade`.execute(trx);
    await sql`alter schema ${sql.id(live)} rename to ${sql.id(retired)}`.execute(trx);
    await sql`alter schema ${sql.id(building)} rename to ${sql.id(live)}`.execute(trx);
  });

  // The live name now holds the new tables; anything the service applied to the old ones while
  // the rebuild ran is in the log, so bring those streams up from there.
  const projector = new Projector(db, log);
  const before = await database.inSchema(retired).selectFrom('stream_positions').select(['stream_id', 'version']).execute();
  let caughtUpAfterSwap = 0;
  for (const { stream_id, version } of before) {
    if (version > (await projector.position(stream_id))) {
      await projector.catchUp(stream_id);
      caughtUpAfterSwap++;
    }
  }
  await sql`drop schema ${sql.id(retired)} cascade`.execute(db);
  return { commits: built.scanned, events: built.applied, caughtUpAfterSwap };
}
