import type { AttributeValue as LambdaAttributeValue, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import type { Commit } from '../eventstore/index.ts';
import { toItem } from '../eventstore/index.ts';

/**
 * DynamoDB Streams fixtures shaped like what Lambda delivers for the events table
 * (StreamViewType NEW_IMAGE), built from real commits with the table's own item codec.
 */
export const streamArn = (tableName: string) => `arn:aws:dynamodb:eu-west-1:123456789012:table/${tableName}/stream/2026-11-28T00:00:00.000`;
const arn = streamArn('events');

let sequence = 100_000_000_000_000_000_000n;
const nextSequence = () => String((sequence += 100n));

type Image = Record<string, LambdaAttributeValue>;

function record(eventName: 'INSERT' | 'MODIFY' | 'REMOVE', keys: Image, image: Image | undefined, sequenceNumber = nextSequence()): DynamoDBRecord {
  return {
    eventID: `${sequenceNumber.slice(-8)}abcdef`,
    eventName,
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'eu-west-1',
    dynamodb: {
      ApproximateCreationDateTime: 1795860000,
      Keys: keys,
      ...(image ? { NewImage: image } : {}),
      SequenceNumber: sequenceNumber,
      SizeBytes: 512,
      StreamViewType: 'NEW_IMAGE',
    },
    eventSourceARN: arn,
  };
}

const keysOf = (streamId: string, version: number): Image => ({ streamId: { S: streamId }, version: { N: String(version) } });

export const insertRecord = (commit: Commit, sequenceNumber?: string) =>
  record('INSERT', keysOf(commit.streamId, commit.version), toItem(commit) as Image, sequenceNumber);

export const modifyRecord = (commit: Commit) => record('MODIFY', keysOf(commit.streamId, commit.version), toItem(commit) as Image);

export const removeRecord = (commit: Commit) => record('REMOVE', keysOf(commit.streamId, commit.version), undefined);

/** An INSERT whose image is not a commit: it can never be applied. */
export const poisonRecord = (sequenceNumber?: string) =>
  record('INSERT', keysOf('GroupChat-broken', 1), { streamId: { S: 'GroupChat-broken' }, version: { N: '1' }, events: { S: 'not a list' } }, sequenceNumber);

/** A batch as Lambda delivers it; `tableName` names the table in each record's eventSourceARN (default `events`). */
export const streamEvent = (records: DynamoDBRecord[], tableName?: string): DynamoDBStreamEvent => ({
  Records: tableName === undefined ? records : records.map((record) => ({ ...record, eventSourceARN: streamArn(tableName) })),
});
