import { column, table } from './table-columns.ts';
import type { RowOf } from './table-columns.ts';

/** How far each stream of the log has been applied: the projector's exactly-once bookkeeping. */
export const streamPositionsTable = table({ stream_id: column.text(), version: column.integer() }, ['stream_id']);

export type StreamPositionsTable = RowOf<typeof streamPositionsTable>;
