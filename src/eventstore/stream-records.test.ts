import t from 'tap';
import type { DynamoDBRecord } from 'aws-lambda';
import { insertRecord } from '../testing/stream-events.ts';
import { decodeStreamRecord } from './stream-records.ts';

const commit = {
  streamId: 'GroupChat-0192f0a0-0000-7000-8000-000000000001',
  version: 1,
  commandId: '0192f0a0-0000-7000-8000-000000000002',
  actorId: 'alice',
  occurredAt: '2026-11-28T00:00:00.000Z',
  events: [{ type: 'GroupChatCreated', data: { name: 'Team', ownerId: 'alice' } }],
};

t.test('an INSERT of a commit decodes to the commit', async (t) => {
  t.match(decodeStreamRecord(insertRecord(commit, '42')), { kind: 'commit', commit, sequenceNumber: '42' });
});

t.test('an INSERT of an Idempotency-Key record is skipped, not taken for a stream or a poison record', async (t) => {
  const record: DynamoDBRecord = {
    eventName: 'INSERT',
    dynamodb: {
      Keys: { streamId: { S: 'Idempotency-6f1c3f0e-4a55-5d3c-9a7e-2f7d7c1b9a10' }, version: { N: '0' } },
      NewImage: {
        streamId: { S: 'Idempotency-6f1c3f0e-4a55-5d3c-9a7e-2f7d7c1b9a10' },
        version: { N: '0' },
        fingerprint: { S: 'abc' },
        occurredAt: { S: '2026-11-28T00:00:00.000Z' },
      },
      SequenceNumber: '43',
      StreamViewType: 'NEW_IMAGE',
    },
  };
  t.same(decodeStreamRecord(record), { kind: 'ignored', reason: 'Idempotency-Key record', sequenceNumber: '43' });
});

t.test('a commit stream whose name merely starts like a key record is still a commit', async (t) => {
  const lookalike = { ...commit, streamId: 'Idempotency-not-a-key-record' };
  t.match(decodeStreamRecord(insertRecord(lookalike, '44')), { kind: 'commit' });
});
