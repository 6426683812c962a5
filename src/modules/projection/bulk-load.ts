import type { Kysely } from 'kysely';
import { parseStreamId } from '../../contracts/streams.ts';
import type { Database } from './database.ts';
import { LogMismatchError } from './projection-errors.ts';
import { readStreams } from './log-streams.ts';
import type { EventLog } from './log-streams.ts';
import type { CatchUpProgress } from './projector.ts';
import { readModels, streamKinds } from './read-models.ts';
import { inChunks } from './row-changes.ts';
import type { RowChange } from './row-changes.ts';

/**
 * Fills empty projection tables from the whole log (the rebuild): one parallel scan, every
 * stream folded in memory by its read model's projection (the same fold the live projector
 * runs), then the rows written as from nothing, a few thousand per statement, in one transaction.
 */
export async function bulkLoad(
  db: Kysely<Database>,
  log: EventLog,
  options: { onProgress?: (progress: CatchUpProgress) => void; segments?: number } = {},
): Promise<CatchUpProgress> {
  const { streams, scanned } = await readStreams(log, {
    ...(options.segments === undefined ? {} : { segments: options.segments }),
    onPage: (scanned) => options.onProgress?.({ scanned, streams: 0, streamsDone: 0, applied: 0 }),
  });

  const changes = new Map(streamKinds.map((kind) => [kind, [] as RowChange<unknown>[]]));
  const positions: { stream_id: string; version: number }[] = [];
  let applied = 0;
  for (const [streamId, commits] of streams) {
    const stream = parseStreamId(streamId);
    if (!stream) continue;
    const gap = commits.findIndex((commit, index) => commit.version !== index + 1);
    if (gap >= 0) throw new LogMismatchError(`${streamId} cannot be rebuilt: the log does not hold version ${gap + 1}`);
    const model = readModels[stream.kind];
    const rows = commits.reduce((acc, commit) => model.project(acc, stream.id, commit), model.empty);
    changes.get(stream.kind)!.push({ before: model.empty, after: rows });
    positions.push({ stream_id: streamId, version: commits.length });
    applied += commits.reduce((sum, commit) => sum + commit.events.length, 0);
  }

  const total = positions.length;
  options.onProgress?.({ scanned, streams: total, streamsDone: 0, applied });
  await db.transaction().execute(async (trx) => {
    for (const kind of streamKinds) await readModels[kind].save(trx, changes.get(kind)!);
    await inChunks(positions, (chunk) => trx.insertInto('stream_positions').values(chunk).execute());
  });
  options.onProgress?.({ scanned, streams: total, streamsDone: total, applied });
  return { scanned, streams: total, streamsDone: total, applied };
}
