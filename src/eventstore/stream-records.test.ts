import type { DynamoDBRecord } from 'aws-lambda';
import t from 'tap';
import { MalformedCommitError } from './commit-item.ts';
import { decodeStreamRecord, normalizeImage } from './stream-records.ts';

/**
 * Records shaped exactly as they were delivered: by Lambda's event source mapping for DynamoDB
 * (documented format: hex eventID, epoch-seconds ApproximateCreationDateTime, `{"M":{}}` for an
 * empty map), and by DynamoDB Local 3.3's Streams API relayed in the same envelope (UUID eventID,
 * region `ddblocal`, and an empty map written as `{}`).
 */
type Image = NonNullable<NonNullable<DynamoDBRecord['dynamodb']>['NewImage']>;
const commitImage = (data: object): Image => ({
  streamId: { S: 'GroupChat-0196f3c2-7a1e-7c4d-9f00-3e5b2a1c9d10' },
  version: { N: '4' },
  commandId: { S: '0196f3c2-8000-7000-8000-000000000001' },
  commandHash: { S: 'h1' },
  actorId: { S: 'alice' },
  occurredAt: { S: '2026-11-28T23:00:00.000Z' },
  events: { L: [{ M: { type: { S: 'GroupChatDeleted' }, data } }] },
}) as unknown as Image;
const keys = { streamId: { S: 'GroupChat-0196f3c2-7a1e-7c4d-9f00-3e5b2a1c9d10' }, version: { N: '4' } };

const fromAws: DynamoDBRecord = {
  eventID: 'c81e728d9d4c2f636f067f89cc14862c',
  eventName: 'INSERT',
  eventVersion: '1.1',
  eventSource: 'aws:dynamodb',
  awsRegion: 'eu-west-1',
  dynamodb: {
    ApproximateCreationDateTime: 1795906800,
    Keys: keys,
    NewImage: commitImage({ M: {} }),
    SequenceNumber: '4421584500000000017450439091',
    SizeBytes: 312,
    StreamViewType: 'NEW_IMAGE',
  },
  eventSourceARN: 'arn:aws:dynamodb:eu-west-1:123456789012:table/events/stream/2026-11-28T00:00:00.000',
};

const fromDynamoDbLocal = {
  eventID: '98dca79f-9a48-47d8-8335-abf7f9add156',
  eventName: 'INSERT',
  eventVersion: '1.1',
  eventSource: 'aws:dynamodb',
  awsRegion: 'ddblocal',
  dynamodb: {
    ApproximateCreationDateTime: 1795906800,
    Keys: keys,
    NewImage: commitImage({}),
    SequenceNumber: '000000000000000000004',
    SizeBytes: 298,
    StreamViewType: 'NEW_IMAGE',
  },
  eventSourceARN: 'arn:aws:dynamodb:ddblocal:000000000000:table/events/stream/2026-11-28T23:00:56.599',
} as unknown as DynamoDBRecord;

t.test('an empty map reads the same from AWS and from DynamoDB Local', async (t) => {
  const aws = decodeStreamRecord(fromAws, { tableName: 'events' });
  const local = decodeStreamRecord(fromDynamoDbLocal, { tableName: 'events' });
  t.match(aws, { kind: 'commit', sequenceNumber: '4421584500000000017450439091' });
  t.match(local, { kind: 'commit', sequenceNumber: '000000000000000000004' });
  t.same(aws.kind === 'commit' && aws.commit, local.kind === 'commit' && local.commit);
  t.same(aws.kind === 'commit' && aws.commit.events, [{ type: 'GroupChatDeleted', data: {} }]);
});

t.test('normalising reaches nested maps and lists and keeps odd attribute names as data', async (t) => {
  const image = JSON.parse('{"__proto__":{"S":"x"},"a":{"M":{"b":{},"l":{"L":[{},{"M":{"c":{}}}]},"e":{"L":[]}}}}');
  const normalized = normalizeImage(image);
  t.same(normalized.a, { M: { b: { M: {} }, l: { L: [{ M: {} }, { M: { c: { M: {} } } }] }, e: { L: [] } } });
  t.ok(Object.hasOwn(normalized, '__proto__'), '__proto__ is an own attribute');
  t.equal(Object.getPrototypeOf(normalized), Object.prototype, 'and did not become the prototype');
});

t.test('what a record means', async (t) => {
  const withChange = (change: Partial<DynamoDBRecord>, dynamodb: object = {}) =>
    ({ ...fromAws, ...change, dynamodb: { ...fromAws.dynamodb, ...dynamodb } }) as DynamoDBRecord;
  t.match(decodeStreamRecord(withChange({ eventName: 'MODIFY' })), { kind: 'skip', reason: 'not-an-insert' });
  t.match(decodeStreamRecord(withChange({ eventName: 'REMOVE' }, { NewImage: undefined })), { kind: 'skip', reason: 'not-an-insert' });
  const idempotency = withChange({}, { Keys: { streamId: { S: 'Idempotency-alice-key-1' }, version: { N: '0' } }, NewImage: { streamId: { S: 'Idempotency-alice-key-1' }, response: { M: {} } } });
  t.match(decodeStreamRecord(idempotency), { kind: 'skip', reason: 'not-a-stream', detail: 'an item of Idempotency' });
  t.match(decodeStreamRecord(withChange({ eventName: 'REMOVE' }, { Keys: { streamId: { S: 'Idempotency-x' } } })), { kind: 'skip', reason: 'not-a-stream' });
  t.match(decodeStreamRecord(withChange({ eventSourceARN: 'arn:aws:dynamodb:eu-west-1:123456789012:table/other/stream/x' }), { tableName: 'events' }), {
    kind: 'skip',
    reason: 'other-table',
  });
  const malformed: [string, DynamoDBRecord][] = [
    ['no sequence number', withChange({}, { SequenceNumber: undefined })],
    ['no keys', withChange({}, { Keys: undefined })],
    ['an unknown event name', withChange({ eventName: 'UPSERT' as never })],
    ['no image', withChange({}, { NewImage: undefined })],
    ['an image that is not a commit', withChange({}, { NewImage: { ...commitImage({ M: {} }), events: { S: 'nope' } } })],
    ['an image of another item', withChange({}, { Keys: { ...keys, version: { N: '5' } } })],
    ['a number too large', withChange({}, { NewImage: { ...commitImage({ M: {} }), version: { N: '99999999999999999999' } } })],
    ['version 0', withChange({}, { Keys: { ...keys, version: { N: '0' } }, NewImage: { ...commitImage({ M: {} }), version: { N: '0' } } })],
    ['a negative version', withChange({}, { Keys: { ...keys, version: { N: '-3' } }, NewImage: { ...commitImage({ M: {} }), version: { N: '-3' } } })],
    ['an occurredAt that is no instant', withChange({}, { NewImage: { ...commitImage({ M: {} }), occurredAt: { S: 'yesterday' } } })],
    ['an occurredAt in another format', withChange({}, { NewImage: { ...commitImage({ M: {} }), occurredAt: { S: '2026-11-28 10:00:00' } } })],
  ];
  for (const [name, record] of malformed) t.throws(() => decodeStreamRecord(record), MalformedCommitError, name);
});

t.test('a commit written by a traced command: its trace context decodes; old and malformed ones stay readable', async (t) => {
  const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  const withTrace = (value: unknown): DynamoDBRecord => ({
    ...fromAws,
    dynamodb: { ...fromAws.dynamodb, NewImage: { ...commitImage({ M: {} }), traceparent: value } as Image },
  });
  const traced = decodeStreamRecord(withTrace({ S: traceparent }), { tableName: 'events' });
  t.equal(traced.kind === 'commit' && traced.commit.traceparent, traceparent);
  const old = decodeStreamRecord(fromAws, { tableName: 'events' });
  t.ok(old.kind === 'commit' && !('traceparent' in old.commit), 'a commit from before tracing has none, and decodes as before');
  for (const hostile of [{ S: 'not a traceparent' }, { S: `00-${'0'.repeat(32)}-00f067aa0ba902b7-01` }, { N: '1' }, { M: { a: { S: 'b' } } }, { S: 'x'.repeat(10_000) }]) {
    const decoded = decodeStreamRecord(withTrace(hostile), { tableName: 'events' });
    t.ok(decoded.kind === 'commit' && !('traceparent' in decoded.commit), `a commit with traceparent ${JSON.stringify(hostile).slice(0, 40)} is applied without it`);
  }
});
