import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { MalformedCommitError, fromItem } from './commit-item.ts';
import { isKeyRecord } from './idempotency-keys.ts';
import type { Commit } from './event-store.ts';

/** What one DynamoDB Streams record of the events table means to a consumer. */
export type StreamRecordMeaning =
  | { readonly kind: 'commit'; readonly commit: Commit; readonly sequenceNumber: string }
  /** Not a new commit (MODIFY/REMOVE, an Idempotency-Key record): nothing to do. */
  | { readonly kind: 'ignored'; readonly reason: string; readonly sequenceNumber: string | undefined };

/**
 * Decodes a record of the events table's stream (NEW_IMAGE). Commits are only ever inserted, so
 * only INSERT records carry news; the image is decoded with the same codec as Query results.
 * Throws `MalformedCommitError` for an INSERT whose image is not a commit (a poison record).
 */
export function decodeStreamRecord(record: DynamoDBRecord): StreamRecordMeaning {
  const sequenceNumber = record.dynamodb?.SequenceNumber;
  if (record.eventName !== 'INSERT') return { kind: 'ignored', reason: `${record.eventName ?? 'unknown'} record`, sequenceNumber };
  if (isKeyRecord(record.dynamodb?.Keys as Record<string, AttributeValue> | undefined)) {
    return { kind: 'ignored', reason: 'Idempotency-Key record', sequenceNumber };
  }
  const image = record.dynamodb?.NewImage;
  if (!image) throw new MalformedCommitError(`INSERT record ${sequenceNumber ?? '?'} has no NewImage`);
  if (!sequenceNumber) throw new MalformedCommitError('INSERT record without a SequenceNumber');
  // The Lambda event types describe the same wire format as the SDK's AttributeValue.
  return { kind: 'commit', commit: fromItem(image as Record<string, AttributeValue>), sequenceNumber };
}
