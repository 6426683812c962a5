import type { Plugin, Request, ServerRoute } from '@hapi/hapi';
import type { DynamoDBRecord } from 'aws-lambda';
import Validate from '@hapi/validate';
import { MalformedCommitError, decodeStreamRecord } from '../../eventstore/index.ts';
import type { Commit, SkipReason } from '../../eventstore/index.ts';
import { unavailable } from '../../shared/http-errors.ts';
import { Projector, isUnavailable } from '../projection/index.ts';

export interface StreamEventsOptions {
  readonly projector: Projector;
  /** The Lambda Web Adapter's pass-through path (AWS_LWA_PASS_THROUGH_PATH, default /events). */
  readonly path?: string;
  /** The events table (EVENTS_TABLE): records of another table are skipped. */
  readonly tableName?: string;
}

/** Largest Lambda invocation payload: a stream batch can be far bigger than an API request. */
const maxEventBytes = 6 * 1024 * 1024;

/**
 * A batch, as far as the route checks it before anything runs (the database included): every
 * record has the sequence number it would be reported by, or the whole invocation fails (400)
 * before anything applies, and Lambda retries it.
 */
const eventSchema = Validate.object({
  Records: Validate.array()
    .items(Validate.object({ dynamodb: Validate.object({ SequenceNumber: Validate.string().min(1).required() }).unknown(true).required() }).unknown(true))
    .required(),
}).unknown(true);

/**
 * The operator's repair (DEPLOY.md, "Operating"): `{"catchUp":"all"}` instead of a stream batch.
 * Records the event source gave up on after its retries went to the on-failure queue, and no
 * later record of theirs will fill the gap (each commit is its own stream item); the event log
 * still holds every one of them. This brings every stream the projection is behind on up to the
 * log: one scan, then only the commits past each stream's position, safe beside the stream's own
 * deliveries (each stream applies in order, under its position).
 */
// (No braces in the message: the validator reads them as references.)
const neither = 'the body is neither a stream batch (Records) nor a catch-up (catchUp: "all")';
const catchUpSchema = Validate.object({ catchUp: Validate.valid('all').required() }).messages({ 'any.required': neither, 'object.unknown': neither });

/** A body with `Records` is a stream batch, checked as one; anything else must be the catch-up. */
const invocationSchema = Validate.alternatives().conditional(Validate.object({ Records: Validate.any().required() }).unknown(true), {
  then: eventSchema,
  otherwise: catchUpSchema,
});

/** The counts the projector logs for each batch: every record ends in exactly one of them. */
export interface BatchSummary {
  records: number;
  applied: number;
  skipped: Record<SkipReason | 'already-applied', number>;
  failed: number;
  events: number;
}

/**
 * The projector function's endpoint (ARCHITECTURE.md, the read side): the adapter posts the raw
 * DynamoDB Streams event here and returns the response body as the invocation result. The
 * function sets
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
 * The commits of the whole batch go through one transaction (positions and rows of all its streams
 * read and written together); each stream's records are applied in their order. Mounted only by
 * the projector entry, never routed by the API.
 */
export const streamEventsEndpoint: Plugin<StreamEventsOptions> = {
  name: 'stream-events',
  register(server, options) {
    server.route(streamEventsRoute(options));
  },
};

/** The endpoint's route alone, for a plugin that mounts it among its own routes (the projector module). */
export function streamEventsRoute(options: StreamEventsOptions): ServerRoute {
  Validate.assert(options, Validate.object({ projector: Validate.object().instance(Projector).required(), path: Validate.string(), tableName: Validate.string() }));
  const { projector } = options;
  return {
    method: 'POST',
    path: options.path ?? '/events',
    options: {
      auth: false,
      payload: { maxBytes: maxEventBytes },
      validate: { payload: invocationSchema },
      handler: async (request) => {
        const payload = request.payload as { Records: DynamoDBRecord[] } | { catchUp: 'all' };
        if ('Records' in payload) return applyRecords(request, projector, payload.Records, options.tableName);
        return catchUpEverything(request, projector);
      },
    },
  };
}

/**
 * Decodes every record, applies the commits among them in one batch (one transaction when
 * nothing fails), and reports each record's outcome.
 */
async function applyRecords(request: Request, projector: Projector, records: readonly DynamoDBRecord[], tableName: string | undefined) {
  // The route's schema made sure every record has one.
  const sequenceNumbers = records.map((record) => record.dynamodb!.SequenceNumber!);
  const summary: BatchSummary = {
    records: records.length,
    applied: 0,
    skipped: { 'already-applied': 0, 'not-an-insert': 0, 'not-a-stream': 0, 'other-table': 0 },
    failed: 0,
    events: 0,
  };
  const failures = new Map<number, { reason: string; streamId: string | undefined }>();
  const fail = (index: number, reason: string, streamId?: string) => {
    summary.failed++;
    failures.set(index, { reason, streamId });
  };
  const skip = (index: number, reason: SkipReason | 'already-applied', detail?: string) => {
    summary.skipped[reason]++;
    // Other kinds of items and duplicates are expected; a changed commit or another table's record is not.
    if (reason !== 'already-applied') {
      request.log([reason === 'not-a-stream' ? 'debug' : 'warn', 'projector'], { msg: 'stream record skipped', sequenceNumber: sequenceNumbers[index], reason, detail });
    }
  };

  const commits: { commit: Commit; index: number }[] = [];
  records.forEach((record, index) => {
    let meaning;
    try {
      meaning = decodeStreamRecord(record, tableName === undefined ? {} : { tableName });
    } catch (error) {
      if (error instanceof MalformedCommitError) return fail(index, error.message);
      throw error;
    }
    if (meaning.kind === 'skip') skip(index, meaning.reason, meaning.detail);
    else commits.push({ commit: meaning.commit, index });
  });

  let results;
  try {
    results = await projector.applyBatch(commits.map(({ commit }) => commit));
  } catch (error) {
    // The database or the log is down: no record can be applied, fail the invocation (503).
    if (isUnavailable(error)) {
      request.log(['warn', 'projector'], { msg: 'stores unavailable: the batch will be retried', err: error });
      throw unavailable('projection stores unavailable');
    }
    throw error;
  }
  results.forEach((result, n) => {
    const { commit, index } = commits[n]!;
    switch (result.outcome) {
      case 'applied':
        summary.applied++;
        summary.events += result.events;
        break;
      case 'already-applied':
        skip(index, 'already-applied');
        break;
      case 'not-projected':
        skip(index, 'not-a-stream', commit.streamId);
        break;
      case 'failed':
        fail(index, result.error.message, commit.streamId);
        break;
    }
  });
  // In the order of the batch: Lambda retries from the first one reported.
  const failed = [...failures].sort(([a], [b]) => a - b);
  for (const [index, { reason, streamId }] of failed) {
    request.log(['error', 'projector'], { msg: 'stream record failed', sequenceNumber: sequenceNumbers[index], streamId, reason });
  }
  request.log([summary.failed > 0 ? 'warn' : 'info', 'projector'], { msg: 'stream batch', ...summary });
  return { batchItemFailures: failed.map(([index]) => ({ itemIdentifier: sequenceNumbers[index]! })) };
}

async function catchUpEverything(request: Request, projector: Projector) {
  let result;
  try {
    result = await projector.catchUpAll();
  } catch (error) {
    if (isUnavailable(error)) {
      request.log(['warn', 'projector'], { msg: 'stores unavailable: the catch-up did not run', err: error });
      throw unavailable('projection stores unavailable');
    }
    throw error;
  }
  const failed = result.failed.map(({ streamId, error }) => ({ streamId, reason: error.message }));
  for (const failure of failed) request.log(['error', 'projector'], { msg: 'catch-up: stream failed', ...failure });
  const summary = { scanned: result.scanned, streamsBehind: result.streams, eventsApplied: result.applied, failed };
  request.log([failed.length > 0 ? 'warn' : 'info', 'projector'], { msg: 'catch-up', ...summary, failed: failed.length });
  return summary;
}
