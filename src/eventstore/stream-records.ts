import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { parseStreamId } from '../contracts/streams.ts';
import { MalformedCommitError, fromItem } from './commit-item.ts';
import type { Commit } from './event-store.ts';

/** Why a record of the events table's stream carries nothing to apply. */
export type SkipReason = 'not-an-insert' | 'not-a-stream' | 'other-table';

/** What one DynamoDB Streams record of the events table means to a consumer. */
export type StreamRecordMeaning =
  | { readonly kind: 'commit'; readonly commit: Commit; readonly sequenceNumber: string }
  /** Nothing to apply, and nothing wrong with that; `detail` says what the record was. */
  | { readonly kind: 'skip'; readonly reason: SkipReason; readonly detail: string; readonly sequenceNumber: string };

export interface DecodeOptions {
  /** The events table: a record whose eventSourceARN names another table is skipped. */
  readonly tableName?: string;
}

/**
 * Decodes a record of the events table's stream (NEW_IMAGE), as Lambda delivers it:
 * - an INSERT of a `GroupChat-…`/`Message-…` item is a commit, decoded with the same codec as
 *   Query results;
 * - MODIFY and REMOVE are skipped: commits are only ever inserted, so such a record means the
 *   item was changed or deleted by hand and the projection has nothing to undo;
 * - an item under any other partition key is skipped: the table holds more than commits (e.g.
 *   idempotency records), and those are none of the read model's business;
 * - a record of another table is skipped (a misrouted event source).
 * Throws `MalformedCommitError` for a record that cannot be understood: no sequence number, no
 * keys, an unknown event name, or an INSERT of a stream whose image is not a commit (a poison
 * record, to be reported rather than skipped).
 *
 * The image is normalised first: DynamoDB Local 3.x writes an empty map as `{}` instead of
 * `{"M":{}}` in stream images (so `GroupChatDeleted{}` would not decode); real DynamoDB never
 * writes `{}`, so reading it as an empty map is safe for both.
 */
export function decodeStreamRecord(record: DynamoDBRecord, options: DecodeOptions = {}): StreamRecordMeaning {
  const change = record.dynamodb;
  const sequenceNumber = change?.SequenceNumber;
  if (typeof sequenceNumber !== 'string' || sequenceNumber.length === 0) throw new MalformedCommitError('record without a dynamodb.SequenceNumber');
  const table = tableOf(record.eventSourceARN);
  if (options.tableName !== undefined && table !== undefined && table !== options.tableName) {
    return { kind: 'skip', reason: 'other-table', detail: `a record of table ${table}`, sequenceNumber };
  }
  const streamId = (change?.Keys?.streamId as { S?: unknown } | undefined)?.S;
  if (typeof streamId !== 'string') throw new MalformedCommitError(`record ${sequenceNumber} has no streamId key`);
  if (!parseStreamId(streamId)) {
    return { kind: 'skip', reason: 'not-a-stream', detail: `an item of ${streamId.split('-', 1)[0]!.slice(0, 32)}`, sequenceNumber };
  }
  if (record.eventName === 'MODIFY' || record.eventName === 'REMOVE') {
    return { kind: 'skip', reason: 'not-an-insert', detail: `${record.eventName} of ${streamId}`, sequenceNumber };
  }
  if (record.eventName !== 'INSERT') throw new MalformedCommitError(`record ${sequenceNumber} has an unknown eventName`);
  const image = change?.NewImage;
  if (!image) throw new MalformedCommitError(`INSERT record ${sequenceNumber} has no NewImage`);
  // The Lambda event types describe the same wire format as the SDK's AttributeValue.
  const commit = fromItem(normalizeImage(image as Record<string, AttributeValue>));
  const version = Number((change.Keys?.version as { N?: unknown } | undefined)?.N);
  if (commit.streamId !== streamId || commit.version !== version) {
    throw new MalformedCommitError(`record ${sequenceNumber}: the image is not the item its keys name`);
  }
  return { kind: 'commit', commit, sequenceNumber };
}

/** `arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>` → `<name>`. */
function tableOf(arn: unknown): string | undefined {
  if (typeof arn !== 'string') return undefined;
  return /:table\/([^/]+)\/stream\//.exec(arn)?.[1];
}

/** Reads `{}` (DynamoDB Local's empty map in stream images) as `{"M":{}}`, at any depth. */
export function normalizeImage(image: Record<string, AttributeValue>): Record<string, AttributeValue> {
  // Object.fromEntries defines own properties: an attribute named `__proto__` stays data.
  return Object.fromEntries(Object.entries(image).map(([name, value]) => [name, normalizeValue(value)]));
}

function normalizeValue(value: AttributeValue): AttributeValue {
  if (typeof value !== 'object' || value === null) return value;
  if (Object.keys(value).length === 0) return { M: {} };
  if (value.M !== undefined && typeof value.M === 'object' && value.M !== null) return { M: normalizeImage(value.M) };
  if (Array.isArray(value.L)) return { L: value.L.map(normalizeValue) };
  return value;
}
