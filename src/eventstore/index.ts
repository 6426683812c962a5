export * from './event-store.ts';
// The DynamoDB implementation and the table's definition are imported from
// './dynamodb-event-store.ts' and './events-table.ts' themselves, never from
// here: a bundle whose code reaches this file must not carry the AWS SDK in its start-up path
// (the deployed services load it on first use through `lazyDynamoDbEventStore`).
export type { DynamoDbEventStoreOptions, ClientSettings } from './dynamodb-event-store.ts';
export { lazyDynamoDbEventStore, lazyEventStore } from './lazy-event-store.ts';
export type { LazyEventStore, OpenedEventStore } from './lazy-event-store.ts';
export { fromItem, toItem, MalformedCommitError } from './commit-item.ts';
export type { CommitItem } from './commit-item.ts';
export { decodeStreamRecord, normalizeImage } from './stream-records.ts';
export type { DecodeOptions, SkipReason, StreamRecordMeaning } from './stream-records.ts';
export { isKeyRecord } from './idempotency-keys.ts';
