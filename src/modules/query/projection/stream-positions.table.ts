/** How far each stream of the log has been applied: the projector's exactly-once bookkeeping. */
export interface StreamPositionsTable {
  stream_id: string;
  version: number;
}
