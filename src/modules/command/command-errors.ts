import Boom from '@hapi/boom';
import { EventStoreUnavailableError } from '../../eventstore/index.ts';
import { unavailable } from '../../shared/http-errors.ts';
import { DomainError } from './domain-error.ts';
import type { DomainErrorKind } from './domain-error.ts';
import { ContentionError, IdempotencyKeyReusedError, StaleVersionError } from './handle-command.ts';

const statusOf: Record<DomainErrorKind, number> = {
  invalid: 400,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  gone: 410,
};

/** The one place where command-side failures become HTTP answers; undefined for a defect. */
export function toBoom(error: unknown): Boom.Boom | undefined {
  if (error instanceof DomainError) return new Boom.Boom(error.message, { statusCode: statusOf[error.kind] });
  if (error instanceof StaleVersionError) return Boom.preconditionFailed(`If-Match is stale: ${error.message}`);
  if (error instanceof IdempotencyKeyReusedError) return Boom.badData(error.message);
  if (error instanceof ContentionError) return unavailable('too many concurrent changes to this chat; retry');
  if (error instanceof EventStoreUnavailableError) return unavailable('event store unavailable');
  return undefined;
}
