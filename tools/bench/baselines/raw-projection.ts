/**
 * The raw SQL of a batch of new Message streams, for the stream path's baselines: one transaction
 * per batch, the positions upserted in one statement and the message rows inserted in another, no
 * query builder. It handles only what the benchmark sends (MessagePosted at version 1).
 */
export interface RawSql {
  query(text: string, params: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
}

interface StreamRecord {
  readonly eventName?: string;
  readonly dynamodb?: { readonly NewImage?: Record<string, { S?: string; N?: string; L?: { M?: Record<string, { S?: string; M?: Record<string, { S?: string }> }> }[] }> };
}

interface MessageRow {
  readonly streamId: string;
  readonly version: number;
  readonly values: readonly unknown[];
}

function messageRows(records: readonly StreamRecord[]): MessageRow[] {
  const rows: MessageRow[] = [];
  for (const record of records) {
    const image = record.dynamodb?.NewImage;
    if (record.eventName !== 'INSERT' || !image) continue;
    const streamId = image.streamId?.S ?? '';
    const posted = image.events?.L?.[0]?.M;
    if (!streamId.startsWith('Message-') || posted?.type?.S !== 'MessagePosted') continue;
    const data = posted.data!.M!;
    rows.push({
      streamId,
      version: Number(image.version!.N),
      values: [streamId.slice('Message-'.length), data.groupChatId!.S, data.authorId!.S, data.text!.S, new Date(image.occurredAt!.S!)],
    });
  }
  return rows;
}

const placeholders = (rows: number, columns: number) =>
  Array.from({ length: rows }, (_, row) => `(${Array.from({ length: columns }, (_, column) => `$${row * columns + column + 1}`).join(', ')})`).join(', ');

/** Applies the batch inside the caller's transaction; returns the rows written. */
export async function projectBatch(sql: RawSql, schema: string, records: readonly StreamRecord[]): Promise<number> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`invalid schema ${schema}`);
  const rows = messageRows(records);
  if (rows.length === 0) return 0;
  const moved = await sql.query(
    `insert into "${schema}"."stream_positions" ("stream_id", "version") values ${placeholders(rows.length, 2)} on conflict ("stream_id") do update set "version" = excluded."version" where "stream_positions"."version" < excluded."version" returning "stream_id"`,
    rows.flatMap((row) => [row.streamId, row.version]),
  );
  const fresh = new Set(moved.rows.map((row) => row.stream_id as string));
  const apply = rows.filter((row) => fresh.has(row.streamId));
  if (apply.length === 0) return 0;
  await sql.query(
    `insert into "${schema}"."messages" ("message_id", "group_chat_id", "author_id", "text", "posted_at") values ${placeholders(apply.length, 5)}`,
    apply.flatMap((row) => row.values),
  );
  return apply.length;
}
