import type { Plugin } from '@hapi/hapi';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import Joi from 'joi';
import { MalformedCommitError, decodeStreamRecord } from '../../../eventstore/index.ts';
import { Projector } from './projector.ts';

export interface StreamEventsOptions {
  readonly projector: Projector;
  /** The Lambda Web Adapter's pass-through path (AWS_LWA_PASS_THROUGH_PATH, default /events). */
  readonly path?: string;
}

/** Largest Lambda invocation payload: a stream batch can be far bigger than an API request. */
const maxEventBytes = 6 * 1024 * 1024;

const eventSchema = Joi.object({
  Records: Joi.array().items(Joi.object().unknown(true)).required(),
}).unknown(true);

/**
 * The projector function's endpoint (SPEC §4): the adapter posts the raw DynamoDB Streams event
 * here and returns the response body as the invocation result. Records are applied in order;
 * one that can never be a commit (a poison record) is reported in `batchItemFailures` and the
 * rest still apply. Any other failure throws: HTTP 500, which AWS_LWA_ERROR_STATUS_CODES turns
 * into a failed invocation that Lambda retries (and bisects); re-applied commits are skipped.
 * Mounted only by the query image's entry, never routed by the API Gateway.
 */
export const streamEventsEndpoint: Plugin<StreamEventsOptions> = {
  name: 'stream-events',
  register(server, options) {
    Joi.assert(options, Joi.object({ projector: Joi.object().instance(Projector).required(), path: Joi.string() }));
    server.route({
      method: 'POST',
      path: options.path ?? '/events',
      options: {
        auth: false,
        payload: { maxBytes: maxEventBytes },
        validate: { payload: eventSchema },
        handler: async (request) => {
          const event = request.payload as DynamoDBStreamEvent;
          const batchItemFailures: { itemIdentifier: string }[] = [];
          let applied = 0;
          for (const record of event.Records) {
            let meaning;
            try {
              meaning = decodeStreamRecord(record);
            } catch (error) {
              if (!(error instanceof MalformedCommitError)) throw error;
              request.log(['warn', 'projector'], { message: error.message, sequenceNumber: record.dynamodb?.SequenceNumber });
              batchItemFailures.push({ itemIdentifier: record.dynamodb?.SequenceNumber ?? record.eventID ?? '' });
              continue;
            }
            if (meaning.kind === 'commit') applied += await options.projector.apply(meaning.commit);
          }
          request.log(['info', 'projector'], { records: event.Records.length, applied, failed: batchItemFailures.length });
          return { batchItemFailures };
        },
      },
    });
  },
};
