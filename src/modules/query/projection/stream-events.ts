import Boom from '@hapi/boom';
import type { Plugin, Request } from '@hapi/hapi';
import type { DynamoDBRecord } from 'aws-lambda';
import Joi from 'joi';
import { MalformedCommitError, decodeStreamRecord } from '../../../eventstore/index.ts';
import type { SkipReason } from '../../../eventstore/index.ts';
import { unavailable } from '../../../shared/http-errors.ts';
import { isUnavailable } from '../query-errors.ts';
import { Projector } from './projector.ts';

export interface StreamEventsOptions {
  readonly projector: Projector;
  /** The Lambda Web Adapter's pass-through path (AWS_LWA_PASS_THROUGH_PATH, default /events). */
  readonly path?: string;
  /** The events table (EVENTS_TABLE): records of another table are skipped. */
  readonly tableName?: string;
}

/** Largest Lambda invocation payload: a stream batch can be far bigger than an API request. */
const maxEventBytes = 6 * 1024 * 1024;

const eventSchema = Joi.object({
  Records: Joi.array().items(Joi.object().unknown(true)).required(),
}).unknown(true);

/** How a record ended; `failed` records are the ones reported back to Lambda. */
export type RecordOutcome = 'applied' | 'skipped' | 'failed';

/** The counts the projector logs for each batch: every record ends in exactly one of them. */
export interface BatchSummary {
  records: number;
  applied: number;
  skipped: Record<SkipReason | 'already-applied', number>;
  failed: number;
  events: number;
}

/**
 * The projector function's endpoint (SPEC §4): the adapter posts the raw DynamoDB Streams event
 * here and returns the response body as the invocation result. The function sets
 * `AWS_LWA_ERROR_STATUS_CODES=201-599`, so only a 200 with a `batchItemFailures` body counts as
 * success; any other answer (a body that is not JSON, too big, without `Records`, a record
 * without a sequence number, an unreachable store) fails the invocation, which Lambda retries
 * and bisects. Every record ends as exactly one of:
 * - **applied**: its commit (and any gap before it, read from the log) is now in the projection;
 * - **skipped**, with a reason: already applied (a duplicate or retried delivery), not an insert
 *   (MODIFY/REMOVE: commits are immutable, so there is nothing to project), not a stream (another
 *   kind of item in the table, such as an idempotency record), another table's record;
 * - **failed**: it can never be applied as it is (an image that is not a commit, a version the
 *   log does not hold, an event type this read model does not know, a row the database refuses).
 *   It is reported in `batchItemFailures` by its `SequenceNumber`, and the rest of the batch
 *   still applies: Lambda retries from the first failed record (commits applied meanwhile are
 *   skipped as already applied) and, once its retries are spent, hands the record to the
 *   on-failure destination.
 * Records are applied in order. Mounted only by the projector entry, never routed by the API.
 */
export const streamEventsEndpoint: Plugin<StreamEventsOptions> = {
  name: 'stream-events',
  register(server, options) {
    Joi.assert(options, Joi.object({ projector: Joi.object().instance(Projector).required(), path: Joi.string(), tableName: Joi.string() }));
    const { projector } = options;
    server.route({
      method: 'POST',
      path: options.path ?? '/events',
      options: {
        auth: false,
        payload: { maxBytes: maxEventBytes },
        validate: { payload: eventSchema },
        handler: async (request) => {
          const records = (request.payload as { Records: DynamoDBRecord[] }).Records;
          const summary: BatchSummary = {
            records: records.length,
            applied: 0,
            skipped: { 'already-applied': 0, 'not-an-insert': 0, 'not-a-stream': 0, 'other-table': 0 },
            failed: 0,
            events: 0,
          };
          const batchItemFailures: { itemIdentifier: string }[] = [];
          for (const [index, record] of records.entries()) {
            const sequenceNumber = record.dynamodb?.SequenceNumber;
            if (typeof sequenceNumber !== 'string' || sequenceNumber.length === 0) {
              // Without its sequence number a record cannot be reported: fail the whole batch.
              throw Boom.badRequest(`record ${index} has no dynamodb.SequenceNumber`);
            }
            const outcome = await applyRecord(request, projector, record, sequenceNumber, options.tableName, summary);
            if (outcome === 'failed') batchItemFailures.push({ itemIdentifier: sequenceNumber });
          }
          request.log([summary.failed > 0 ? 'warn' : 'info', 'projector'], { msg: 'stream batch', ...summary });
          return { batchItemFailures };
        },
      },
    });
  },
};

async function applyRecord(
  request: Request,
  projector: Projector,
  record: DynamoDBRecord,
  sequenceNumber: string,
  tableName: string | undefined,
  summary: BatchSummary,
): Promise<RecordOutcome> {
  const fail = (reason: string, streamId?: string) => {
    summary.failed++;
    request.log(['error', 'projector'], { msg: 'stream record failed', sequenceNumber, streamId, reason });
    return 'failed' as const;
  };
  let meaning;
  try {
    meaning = decodeStreamRecord(record, tableName === undefined ? {} : { tableName });
  } catch (error) {
    if (error instanceof MalformedCommitError) return fail(error.message);
    throw error;
  }
  if (meaning.kind === 'skip') {
    summary.skipped[meaning.reason]++;
    // Other kinds of items are expected; a changed commit or another table's record is not.
    request.log([meaning.reason === 'not-a-stream' ? 'debug' : 'warn', 'projector'], {
      msg: 'stream record skipped',
      sequenceNumber,
      reason: meaning.reason,
      detail: meaning.detail,
    });
    return 'skipped';
  }
  const { commit } = meaning;
  let events: number;
  try {
    events = await projector.apply(commit);
  } catch (error) {
    // The database or the log is down: no record can be applied, fail the invocation (503).
    if (isUnavailable(error)) {
      request.log(['warn', 'projector'], { msg: 'stores unavailable: the batch will be retried', err: error });
      throw unavailable('projection stores unavailable');
    }
    return fail(error instanceof Error ? error.message : String(error), commit.streamId);
  }
  if (events === 0) {
    summary.skipped['already-applied']++;
    return 'skipped';
  }
  summary.applied++;
  summary.events += events;
  return 'applied';
}
