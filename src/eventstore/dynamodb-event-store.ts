import {
  ConditionalCheckFailedException,
  DescribeTableCommand,
  DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import type { AttributeValue, DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { fromItem, toItem } from './commit-item.ts';
import { isKeyRecord, keyRecordStreamId, keyRecordVersion } from './idempotency-keys.ts';
import {
  EventStoreUnavailableError,
  VersionConflictError,
  validateAppend,
} from './event-store.ts';
import type { AppendRequest, Commit, EventStore, KeyClaim, KeyOutcome, NewEvent, ReadOptions, ScanOptions } from './event-store.ts';
import { awsHttpTimeouts } from '../shared/aws-http.ts';
import { SpanKind, activeTraceparent, inSpan, tracingEnabled } from '../shared/tracing.ts';

export interface DynamoDbEventStoreOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
}

/**
 * The event log on DynamoDB (docs/events.md): one item per commit, appended with a conditional put at
 * `expectedVersion + 1`. No TransactWriteItems, so the same code runs against DynamoDB and dynalite.
 */
export class DynamoDbEventStore implements EventStore {
  readonly #client: DynamoDBClient;
  readonly #tableName: string;

  constructor(options: DynamoDbEventStoreOptions) {
    this.#client = options.client;
    this.#tableName = options.tableName;
  }

  /**
   * The last write the log refused for reasons of its own (unavailable, throttled, a 5xx), until
   * a write succeeds: the deep health check reports it, since a read can succeed while writes fail.
   */
  #writeFailure: EventStoreUnavailableError | undefined;

  /** Runs a write, remembering whether the log took it (a refused condition counts as taken). */
  async #write(send: () => Promise<unknown>, action: string): Promise<void> {
    try {
      await send();
      this.#writeFailure = undefined;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        this.#writeFailure = undefined;
        throw error;
      }
      const translated = translate(error, action);
      if (translated instanceof EventStoreUnavailableError) this.#writeFailure = translated;
      throw translated;
    }
  }

  async append<E extends NewEvent>(request: AppendRequest<E>): Promise<Commit<E>> {
    validateAppend(request);
    const commit: Commit<E> = {
      streamId: request.streamId,
      version: request.expectedVersion + 1,
      commandId: request.commandId,
      ...(request.commandHash === undefined ? {} : { commandHash: request.commandHash }),
      actorId: request.actorId,
      occurredAt: request.occurredAt,
      events: request.events,
    };
    // The trace of the command that writes the commit travels with it: the projector's span,
    // wherever the commit is applied, links to it.
    const traceparent = activeTraceparent();
    if (traceparent !== undefined) Object.assign(commit, { traceparent });
    try {
      await this.#write(
        () =>
          this.#client.send(
            new PutItemCommand({
              TableName: this.#tableName,
              Item: toItem(commit),
              ConditionExpression: 'attribute_not_exists(#version)',
              ExpressionAttributeNames: { '#version': 'version' },
            }),
          ),
        'append',
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        throw new VersionConflictError(request.streamId, request.expectedVersion);
      }
      throw error;
    }
    return commit;
  }

  async readStream(streamId: string, options: ReadOptions = {}): Promise<readonly Commit[]> {
    const commits: Commit[] = [];
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      let page;
      try {
        page = await this.#client.send(
          new QueryCommand({
            TableName: this.#tableName,
            KeyConditionExpression: '#streamId = :streamId AND #version >= :from',
            ExpressionAttributeNames: { '#streamId': 'streamId', '#version': 'version' },
            ExpressionAttributeValues: {
              ':streamId': { S: streamId },
              ':from': { N: String(options.fromVersion ?? 1) },
            },
            ConsistentRead: true,
            ExclusiveStartKey: startKey,
          }),
        );
      } catch (error) {
        throw translate(error, 'read');
      }
      for (const item of page.Items ?? []) commits.push(fromItem(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return commits;
  }

  async *scan(options: ScanOptions = {}): AsyncIterable<readonly Commit[]> {
    const segments = Math.max(1, Math.floor(options.segments ?? 4));
    yield* mergePages(Array.from({ length: segments }, (_, segment) => this.#scanSegment(segment, segments)));
  }

  /**
   * A conditional put of the key record; when it exists already, one strongly consistent Query
   * of its partition says which request it names. PutItem and Query only: the command function
   * is granted nothing else on the table.
   */
  async claimKey(claim: KeyClaim): Promise<KeyOutcome> {
    const streamId = keyRecordStreamId(claim.key);
    try {
      await this.#write(
        () =>
          this.#client.send(
            new PutItemCommand({
              TableName: this.#tableName,
              Item: {
                streamId: { S: streamId },
                version: { N: String(keyRecordVersion) },
                fingerprint: { S: claim.fingerprint },
                occurredAt: { S: claim.occurredAt },
                ...(claim.refusal ? { refusalStatus: { N: String(claim.refusal.status) }, refusalMessage: { S: claim.refusal.message } } : {}),
              },
              ConditionExpression: 'attribute_not_exists(#streamId)',
              ExpressionAttributeNames: { '#streamId': 'streamId' },
            }),
          ),
        'claim key',
      );
      return { ours: true, ...(claim.refusal ? { refusal: claim.refusal } : {}) };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    let page;
    try {
      page = await this.#client.send(
        new QueryCommand({
          TableName: this.#tableName,
          KeyConditionExpression: '#streamId = :streamId AND #version = :version',
          ExpressionAttributeNames: { '#streamId': 'streamId', '#version': 'version' },
          ExpressionAttributeValues: { ':streamId': { S: streamId }, ':version': { N: String(keyRecordVersion) } },
          ConsistentRead: true,
        }),
      );
    } catch (error) {
      throw translate(error, 'read key');
    }
    const record = page.Items?.[0];
    if (record?.fingerprint?.S !== claim.fingerprint) return { ours: false };
    const status = Number(record.refusalStatus?.N);
    const message = record.refusalMessage?.S;
    return { ours: true, ...(Number.isInteger(status) && message !== undefined ? { refusal: { status, message } } : {}) };
  }

  async ping(): Promise<void> {
    try {
      await this.#client.send(new DescribeTableCommand({ TableName: this.#tableName }));
    } catch (error) {
      throw translate(error, 'reach');
    }
    const failure = this.#writeFailure;
    if (failure) throw new EventStoreUnavailableError(`event log refuses writes: the last one failed (${failure.message})`, { cause: failure });
  }

  async *#scanSegment(segment: number, totalSegments: number): AsyncGenerator<readonly Commit[]> {
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      let page;
      try {
        page = await this.#client.send(
          new ScanCommand({
            TableName: this.#tableName,
            Segment: segment,
            TotalSegments: totalSegments,
            ConsistentRead: true,
            ExclusiveStartKey: startKey,
          }),
        );
      } catch (error) {
        throw translate(error, 'scan');
      }
      // Idempotency-Key records share the table; they are not commits.
      yield (page.Items ?? []).filter((item) => !isKeyRecord(item)).map(fromItem);
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }
}

/** Interleaves the pages of several generators as they arrive. */
async function* mergePages<T>(sources: AsyncGenerator<T>[]): AsyncGenerator<T> {
  const pending = new Map<number, Promise<{ index: number; result: IteratorResult<T> }>>();
  const pull = (index: number) => {
    const source = sources[index]!;
    pending.set(
      index,
      source.next().then((result) => ({ index, result })),
    );
  };
  sources.forEach((_, index) => pull(index));
  try {
    while (pending.size > 0) {
      const { index, result } = await Promise.race(pending.values());
      if (result.done) {
        pending.delete(index);
      } else {
        pull(index);
        yield result.value;
      }
    }
  } finally {
    await Promise.allSettled(sources.map((source) => source.return(undefined)));
  }
}

const retryableNames = new Set([
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'ThrottlingException',
  'InternalServerError',
  'ServiceUnavailable',
  'ResourceNotFoundException',
  'TimeoutError',
  'RequestTimeout',
]);
const networkCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH']);

/**
 * Failures of reach or capacity become `EventStoreUnavailableError` (HTTP 503); anything else
 * is a defect and propagates as it is.
 */
function translate(error: unknown, action: string): unknown {
  if (!(error instanceof Error)) return error;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const code = (error as { code?: string }).code;
  if (
    retryableNames.has(error.name) ||
    (code !== undefined && networkCodes.has(code)) ||
    (status !== undefined && status >= 500)
  ) {
    return new EventStoreUnavailableError(`event log unavailable (${action}): ${error.name}`, { cause: error });
  }
  return error;
}

export interface ClientSettings {
  /** An endpoint speaking the DynamoDB API (dynalite locally); the AWS default when absent. */
  readonly endpoint?: string;
  readonly region?: string;
  /**
   * The endpoint is a dynalite inside this very process (`npm start`'s embedded log, the tests'
   * stores). It cannot hang on its own: an answer that is late is late because this process is
   * busy, and a timeout would turn a loaded process's own work into 503s. No time limits then.
   */
  readonly inProcess?: boolean;
}

/**
 * A DynamoDB client with short timeouts: a store that does not answer should turn into a quick
 * 503, not a request hanging until the Lambda times out.
 */
export function createDynamoDbClient(settings: ClientSettings = {}): DynamoDBClient {
  // Node 20 is a supported development runtime here (the images run Node 22); the SDK's notice
  // about its own future Node support would otherwise open every local run and test.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const config: DynamoDBClientConfig = {
    region: settings.region ?? process.env.AWS_REGION ?? 'us-east-1',
    maxAttempts: 3,
    requestHandler: settings.inProcess ? { connectionTimeout: 0, requestTimeout: 0 } : awsHttpTimeouts,
  };
  if (settings.endpoint !== undefined) {
    config.endpoint = settings.endpoint;
    // A local endpoint accepts any signature; real credentials are not needed or wanted.
    config.credentials = {
      accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'local',
      secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'local',
    };
  }
  const client = new DynamoDBClient(config);
  traceCalls(client);
  return client;
}

/**
 * One client span per DynamoDB call, SDK retries included, from the SDK's own
 * middleware stack: nothing patches `require`, so it works the same inside a bundle. With
 * tracing off the middleware only passes the call on.
 */
function traceCalls(client: DynamoDBClient): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (!tracingEnabled()) return next(args);
      const operation = String(context.commandName ?? 'Command').replace(/Command$/, '');
      const table = (args.input as { TableName?: unknown }).TableName;
      return inSpan(
        `DynamoDB.${operation}`,
        {
          'rpc.system': 'aws-api',
          'rpc.service': 'DynamoDB',
          'rpc.method': operation,
          ...(typeof table === 'string' ? { 'aws.dynamodb.table_names': [table] } : {}),
        },
        async (span) => {
          const result = await next(args);
          const metadata = (result.output as { $metadata?: { requestId?: string; attempts?: number } }).$metadata;
          if (metadata?.requestId) span.setAttribute('aws.request_id', metadata.requestId);
          if (metadata?.attempts !== undefined) span.setAttribute('aws.attempts', metadata.attempts);
          return result;
        },
        { kind: SpanKind.CLIENT },
      );
    },
    { step: 'initialize', name: 'tracingSpans' },
  );
}
