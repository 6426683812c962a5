import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { Commit, NewEvent } from './event-store.ts';
import { isTraceparent } from '../shared/tracing.ts';

/**
 * How a commit is stored: one DynamoDB item per commit, keyed by (streamId, version). The same
 * decoding serves Query/Scan results and DynamoDB Streams images.
 */
export type CommitItem = Record<string, AttributeValue>;

export function toItem(commit: Commit): CommitItem {
  return marshall(
    {
      streamId: commit.streamId,
      version: commit.version,
      commandId: commit.commandId,
      commandHash: commit.commandHash,
      actorId: commit.actorId,
      occurredAt: commit.occurredAt,
      events: commit.events.map((event) => ({ type: event.type, data: event.data })),
      traceparent: commit.traceparent,
    },
    { removeUndefinedValues: true, convertEmptyValues: false },
  );
}

const commitAttributes = ['streamId', 'version', 'commandId', 'commandHash', 'actorId', 'occurredAt', 'events'] as const;

/** Decodes a stored item; throws `MalformedCommitError` for an item that is not a commit. */
export function fromItem(item: CommitItem): Commit {
  // Only the attributes a commit is made of are decoded: anything else on the item (an attribute a
  // later version adds, or one written by hand) can never make the commit unreadable.
  const known: CommitItem = {};
  for (const name of commitAttributes) if (Object.hasOwn(item, name)) known[name] = item[name]!;
  let raw: Record<string, unknown>;
  try {
    raw = unmarshall(known) as Record<string, unknown>;
  } catch (error) {
    throw new MalformedCommitError(`item is not DynamoDB JSON: ${(error as Error).message}`, { cause: error });
  }
  const { streamId, version, commandId, commandHash, actorId, occurredAt, events } = raw;
  const traceparent = item.traceparent?.S;
  if (
    typeof streamId !== 'string' ||
    typeof version !== 'number' ||
    !Number.isSafeInteger(version) ||
    version < 1 ||
    typeof commandId !== 'string' ||
    typeof actorId !== 'string' ||
    typeof occurredAt !== 'string' ||
    !isTimestamp(occurredAt) ||
    !Array.isArray(events) ||
    events.length === 0 ||
    !events.every(isEvent)
  ) {
    throw new MalformedCommitError(`item ${String(streamId)}@${String(version)} is not a commit`);
  }
  return {
    streamId,
    version,
    commandId,
    ...(typeof commandHash === 'string' ? { commandHash } : {}),
    actorId,
    occurredAt,
    events,
    // A trace context is a hint for the projector's span, never a reason to refuse a commit:
    // one that is not a well-formed `traceparent` is left out.
    ...(typeof traceparent === 'string' && isTraceparent(traceparent) ? { traceparent } : {}),
  };
}

/** An ISO-8601 instant as `toISOString` writes it: what every commit's `occurredAt` is. */
function isTimestamp(text: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/.test(text)) return false;
  return !Number.isNaN(Date.parse(text));
}

function isEvent(value: unknown): value is NewEvent {
  if (typeof value !== 'object' || value === null) return false;
  const { type, data } = value as Record<string, unknown>;
  return typeof type === 'string' && typeof data === 'object' && data !== null && !Array.isArray(data);
}

export class MalformedCommitError extends Error {
  override readonly name = 'MalformedCommitError';
}
