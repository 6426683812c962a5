export * from './event-store.ts';
export { DynamoDbEventStore, createDynamoDbClient } from './dynamodb-event-store.ts';
export type { DynamoDbEventStoreOptions, ClientSettings } from './dynamodb-event-store.ts';
export { ensureEventsTable } from './events-table.ts';
export { fromItem, toItem, MalformedCommitError } from './commit-item.ts';
export type { CommitItem } from './commit-item.ts';
export { decodeStreamRecord, normalizeImage } from './stream-records.ts';
export type { DecodeOptions, SkipReason, StreamRecordMeaning } from './stream-records.ts';
export { isKeyRecord } from './idempotency-keys.ts';
