import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/**
 * Idempotency-Key records (docs/api.md, idempotency: a key names one request of one caller across
 * the whole API). They live in the events table under partition keys of their own,
 * `Idempotency-<key>`, at version 0, where no commit ever is (commits start at 1). Nothing that
 * reads commits may take one for a stream: `readStream` starts at version 1, `scan` and the
 * stream-record decoder skip them by this test.
 */
const keyRecordPrefix = 'Idempotency-';
export const keyRecordVersion = 0;

export const keyRecordStreamId = (key: string): string => `${keyRecordPrefix}${key}`;

/** Whether a stored item (or a stream record's keys) is a key record rather than a commit. */
export function isKeyRecord(item: Record<string, AttributeValue> | undefined): boolean {
  const streamId = item?.streamId?.S;
  return streamId !== undefined && streamId.startsWith(keyRecordPrefix) && item?.version?.N === String(keyRecordVersion);
}
