import { setTimeout as sleep } from 'node:timers/promises';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import type { _Record as StreamRecord } from '@aws-sdk/client-dynamodb-streams';
import { projectorEventSource } from '../../infra/lib/projector-source.ts';

/**
 * Plays the Lambda event source mapping of the projector function against a
 * DynamoDB Streams API: reads every shard of the table's stream, keeps the records the query
 * stack's filter keeps (`eventName` INSERT), and invokes the projector with batches of up to
 * `batchSize` records shaped as Lambda delivers them, through the adapter's pass-through path.
 * Like Lambda with ReportBatchItemFailures: a 200 whose `batchItemFailures` is empty
 * checkpoints the batch; failed items are retried from the lowest failed sequence number; any
 * other answer fails the whole invocation and retries it; after `maxRetries` (the QueryStack's
 * `retryAttempts`, infra/lib/projector-source.ts) the rest of the batch goes to the on-failure
 * list (`discarded`) and the shard moves on.
 */
export interface LambdaStreamRecord {
  readonly eventID: string;
  readonly eventName: string;
  readonly eventVersion: string;
  readonly eventSource: string;
  readonly awsRegion: string;
  readonly dynamodb: {
    readonly ApproximateCreationDateTime: number;
    readonly Keys: unknown;
    readonly NewImage?: unknown;
    readonly SequenceNumber: string;
    readonly SizeBytes: number;
    readonly StreamViewType: string;
  };
  readonly eventSourceARN: string;
}

export interface PollerStats {
  /** Invocations of the projector (retries included). */
  invocations: number;
  /** Records delivered at least once. */
  records: number;
  /** Records that came back in batchItemFailures, counted each time. */
  failedRecords: number;
  /** Invocations answered with anything but a 200 batch response. */
  failedInvocations: number;
  /** Records given up on after the retries (Lambda's on-failure destination). */
  discarded: LambdaStreamRecord[];
  /** Records the filter dropped (MODIFY, REMOVE). */
  filteredOut: number;
  /** Delivered records holding an empty map written as `{}` (DynamoDB Local's shape, not AWS's). */
  bareEmptyMaps: number;
}

export interface StreamPollerOptions {
  readonly endpoint: string;
  readonly region: string;
  readonly streamArn: string;
  /** The projector function's pass-through URL (http://127.0.0.1:<port>/events). */
  readonly invokeUrl: string;
  readonly batchSize?: number;
  readonly maxRetries?: number;
  /** The longest wait between two retries of a batch (backoff doubles from 200 ms up to it). */
  readonly retryDelayCapMs?: number;
  readonly idleMs?: number;
  readonly onError?: (error: unknown) => void;
}

/** Lambda's shape of one stream record: the Streams API's record plus the stream's ARN. */
export function toLambdaRecord(record: StreamRecord, streamArn: string): LambdaStreamRecord {
  const change = record.dynamodb!;
  const created = change.ApproximateCreationDateTime;
  return {
    eventID: record.eventID!,
    eventName: record.eventName!,
    eventVersion: record.eventVersion!,
    eventSource: record.eventSource!,
    awsRegion: record.awsRegion!,
    dynamodb: {
      // Lambda delivers epoch seconds; the SDK turned the wire's number into a Date.
      ApproximateCreationDateTime: created instanceof Date ? Math.floor(created.getTime() / 1000) : Number(created),
      Keys: change.Keys,
      ...(change.NewImage ? { NewImage: change.NewImage } : {}),
      SequenceNumber: change.SequenceNumber!,
      SizeBytes: change.SizeBytes!,
      StreamViewType: change.StreamViewType!,
    },
    eventSourceARN: streamArn,
  };
}

export class StreamPoller {
  readonly stats: PollerStats = { invocations: 0, records: 0, failedRecords: 0, failedInvocations: 0, discarded: [], filteredOut: 0, bareEmptyMaps: 0 };
  readonly #options: Required<Omit<StreamPollerOptions, 'onError'>> & Pick<StreamPollerOptions, 'onError'>;
  readonly #client: DynamoDBStreamsClient;
  readonly #iterators = new Map<string, string | null>();
  #running = false;
  #loop: Promise<void> | undefined;
  /** Completed passes over every shard that found nothing new. */
  #quietPasses = 0;

  constructor(options: StreamPollerOptions) {
    this.#options = {
      batchSize: projectorEventSource.batchSize,
      maxRetries: projectorEventSource.retryAttempts,
      retryDelayCapMs: 2_000,
      idleMs: 100,
      ...options,
    };
    this.#client = new DynamoDBStreamsClient({
      endpoint: options.endpoint,
      region: options.region,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
  }

  start(): void {
    this.#running = true;
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
    this.#client.destroy();
  }

  /** Resolves once two full passes over the stream found nothing new (everything written so far was delivered). */
  async drained(withinMs = 60_000): Promise<void> {
    const deadline = Date.now() + withinMs;
    const start = this.#quietPasses;
    // A pass that started before the last write may still be quiet: wait for a fresh one.
    while (this.#quietPasses < start + 2) {
      if (Date.now() > deadline) throw new Error('the stream poller did not drain');
      await sleep(50);
    }
  }

  async #run(): Promise<void> {
    while (this.#running) {
      try {
        const delivered = await this.#pass();
        this.#quietPasses = delivered === 0 ? this.#quietPasses + 1 : 0;
        if (delivered === 0) await sleep(this.#options.idleMs);
      } catch (error) {
        this.#options.onError?.(error);
        await sleep(500);
      }
    }
  }

  /** One pass over every open shard; returns how many records it read. */
  async #pass(): Promise<number> {
    const { StreamDescription } = await this.#client.send(new DescribeStreamCommand({ StreamArn: this.#options.streamArn }));
    let read = 0;
    for (const shard of StreamDescription?.Shards ?? []) {
      const shardId = shard.ShardId!;
      if (!this.#iterators.has(shardId)) {
        // A shard whose parent is still open waits, so a stream's records keep their order.
        if (shard.ParentShardId && this.#iterators.get(shard.ParentShardId) !== null && this.#iterators.has(shard.ParentShardId)) continue;
        const { ShardIterator } = await this.#client.send(
          new GetShardIteratorCommand({ StreamArn: this.#options.streamArn, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }),
        );
        this.#iterators.set(shardId, ShardIterator ?? null);
      }
      const iterator = this.#iterators.get(shardId);
      if (!iterator) continue;
      const { Records = [], NextShardIterator } = await this.#client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
      read += Records.length;
      const kept: LambdaStreamRecord[] = [];
      for (const record of Records) {
        if (record.eventName !== 'INSERT') {
          this.stats.filteredOut++;
          continue;
        }
        const shaped = toLambdaRecord(record, this.#options.streamArn);
        if (JSON.stringify(shaped.dynamodb.NewImage).includes(':{}')) this.stats.bareEmptyMaps++;
        kept.push(shaped);
      }
      for (let start = 0; start < kept.length; start += this.#options.batchSize) await this.#deliver(kept.slice(start, start + this.#options.batchSize));
      this.#iterators.set(shardId, NextShardIterator ?? null);
    }
    return read;
  }

  async #deliver(batch: LambdaStreamRecord[]): Promise<void> {
    this.stats.records += batch.length;
    let pending = batch;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > this.#options.maxRetries) {
        this.stats.discarded.push(...pending);
        return;
      }
      if (attempt > 0) await sleep(Math.min(this.#options.retryDelayCapMs, 100 * 2 ** attempt));
      this.stats.invocations++;
      const failed = await this.#invoke(pending);
      if (failed === 'invocation-failed') {
        this.stats.failedInvocations++;
        continue;
      }
      if (failed.length === 0) return;
      this.stats.failedRecords += failed.length;
      // Lambda resumes from the lowest failed sequence number: what came before is checkpointed.
      const lowest = failed.reduce((a, b) => (BigInt(a) < BigInt(b) ? a : b));
      pending = pending.slice(pending.findIndex((record) => record.dynamodb.SequenceNumber === lowest));
    }
  }

  async #invoke(records: LambdaStreamRecord[]): Promise<string[] | 'invocation-failed'> {
    try {
      const response = await fetch(this.#options.invokeUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ Records: records }),
      });
      const text = await response.text();
      // AWS_LWA_ERROR_STATUS_CODES=201-599: only a 200 is a result; its body is the answer.
      if (response.status !== 200) return 'invocation-failed';
      const body = JSON.parse(text) as { batchItemFailures?: { itemIdentifier?: unknown }[] };
      if (!Array.isArray(body.batchItemFailures)) return 'invocation-failed';
      const ids = body.batchItemFailures.map((failure) => failure.itemIdentifier);
      // An identifier that names no record of the batch fails the whole batch, as in Lambda.
      if (!ids.every((id) => typeof id === 'string' && records.some((record) => record.dynamodb.SequenceNumber === id))) return 'invocation-failed';
      return ids as string[];
    } catch {
      return 'invocation-failed';
    }
  }
}
