import type { Kysely } from 'kysely';
import type { Database } from '../database.ts';
import { inChunks, sameRow } from '../row-changes.ts';
import type { RowChange } from '../row-changes.ts';
import { fromExcluded } from '../table-columns.ts';
import { messagesTable } from './messages.projection.ts';
import type { MessageRow } from './messages.projection.ts';

/** The rows of these messages as the database holds them now (absent: none, or deleted). */
export async function loadMessageRows(db: Kysely<Database>, messageIds: readonly string[]): Promise<Map<string, MessageRow | undefined>> {
  const rows = new Map<string, MessageRow>();
  if (messageIds.length > 0) {
    for (const row of await db.selectFrom('messages').selectAll().where('message_id', 'in', messageIds).execute()) rows.set(row.message_id, row);
  }
  return new Map(messageIds.map((id) => [id, rows.get(id)]));
}

/** Writes what the fold changed: changed rows upserted, deleted messages' rows removed, in a few statements. */
export async function saveMessageRows(db: Kysely<Database>, changes: readonly RowChange<MessageRow | undefined>[]): Promise<void> {
  const upserts: MessageRow[] = [];
  const gone: string[] = [];
  for (const { before, after } of changes) {
    if (after === undefined) {
      if (before !== undefined) gone.push(before.message_id);
    } else if (!sameRow(before, after)) {
      upserts.push(after);
    }
  }
  await inChunks(gone, (chunk) => db.deleteFrom('messages').where('message_id', 'in', chunk).execute());
  await inChunks(upserts, (chunk) =>
    db
      .insertInto('messages')
      .values(chunk)
      .onConflict((c) => c.columns(messagesTable.key).doUpdateSet(fromExcluded(messagesTable)))
      .execute(),
  );
}
