import type { Kysely } from 'kysely';
import { parseStreamId } from '../../../contracts/streams.ts';
import type { Commit } from '../../../eventstore/index.ts';
import type { Database } from '../database.ts';
import { foldGroupChatRows, noGroupChatRows } from '../group-chats/group-chats.rows.ts';
import type { NewGroupChatRow, NewMemberRow } from '../group-chats/group-chats.table.ts';
import type { NewMessageRow } from '../messages/messages.table.ts';
import { foldMessageRow } from '../messages/messages.rows.ts';
import type { CatchUpProgress, EventLog } from './projector.ts';

/**
 * Fills empty projection tables from the whole log (the rebuild): one parallel scan, every
 * stream folded in memory by the pure row projections, then multi-row INSERTs, a few thousand
 * rows per statement. Per-commit transactions would cost a round trip per event.
 */
export async function bulkLoad(
  db: Kysely<Database>,
  log: EventLog,
  options: { onProgress?: (progress: CatchUpProgress) => void; segments?: number } = {},
): Promise<CatchUpProgress> {
  const streams = new Map<string, Commit[]>();
  let scanned = 0;
  for await (const page of log.scan({ segments: options.segments ?? 4 })) {
    for (const commit of page) {
      const list = streams.get(commit.streamId);
      if (list) list.push(commit);
      else streams.set(commit.streamId, [commit]);
    }
    scanned += page.length;
    options.onProgress?.({ scanned, streams: 0, streamsDone: 0, applied: 0 });
  }

  const chats: NewGroupChatRow[] = [];
  const members: NewMemberRow[] = [];
  const messages: NewMessageRow[] = [];
  const positions: { stream_id: string; version: number }[] = [];
  let applied = 0;
  for (const [streamId, commits] of streams) {
    const stream = parseStreamId(streamId);
    if (!stream) continue;
    commits.sort((a, b) => a.version - b.version);
    if (!commits.every((c, i) => c.version === i + 1)) throw new Error(`stream ${streamId} has a gap in the log`);
    if (stream.kind === 'GroupChat') {
      const rows = commits.reduce((acc, c) => foldGroupChatRows(acc, stream.id, c), noGroupChatRows);
      if (rows.chat) chats.push(rows.chat);
      members.push(...rows.members.values());
    } else {
      const row = commits.reduce<NewMessageRow | undefined>((acc, c) => foldMessageRow(acc, stream.id, c), undefined);
      if (row) messages.push(row);
    }
    positions.push({ stream_id: streamId, version: commits[commits.length - 1]!.version });
    applied += commits.reduce((sum, c) => sum + c.events.length, 0);
  }

  const total = streams.size;
  let done = 0;
  const chunk = 2_000;
  await db.transaction().execute(async (trx) => {
    const insert = async <T extends keyof Database>(table: T, rows: readonly object[]) => {
      for (let start = 0; start < rows.length; start += chunk) {
        await trx.insertInto(table).values(rows.slice(start, start + chunk) as never).execute();
      }
    };
    await insert('group_chats', chats);
    await insert('members', members);
    await insert('messages', messages);
    for (let start = 0; start < positions.length; start += chunk) {
      await trx.insertInto('stream_positions').values(positions.slice(start, start + chunk)).execute();
      done = Math.min(total, start + chunk);
      options.onProgress?.({ scanned, streams: total, streamsDone: done, applied });
    }
  });
  options.onProgress?.({ scanned, streams: total, streamsDone: total, applied });
  return { scanned, streams: total, streamsDone: total, applied };
}
