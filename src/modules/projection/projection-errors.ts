import { EventStoreUnavailableError } from '../../eventstore/index.ts';

/**
 * The projection database cannot be reached, or lost the connection a query ran on: answer 503
 * and try again. Thrown in one place, where a query leaves for the database (`database.ts`
 * wraps the driver), so nothing above it needs to guess from an error what it meant.
 */
export class ProjectionUnavailableError extends Error {
  override readonly name = 'ProjectionUnavailableError';
}

/** The delivered commit is not what the event log holds (a version it lacks, or a hole before it): never applied. */
export class LogMismatchError extends Error {
  override readonly name = 'LogMismatchError';
}

/**
 * A commit carries an event type this read model does not know (yet). Applying the rest of it
 * would move the stream's position past that event for good; refusing keeps it for a reader that
 * knows the type. The type is cut and quoted: it comes from the log, not from this code.
 */
export class UnknownEventTypeError extends Error {
  override readonly name = 'UnknownEventTypeError';
  constructor(streamId: string, version: number, type: unknown) {
    super(`${streamId} version ${version} has an event of unknown type ${JSON.stringify(String(type).slice(0, 64))}`);
  }
}

/**
 * Whether an error means "a store is not there" rather than "the code is wrong": decided by type
 * only. Both kinds are made where the store is called (the event store's client, the projection
 * database's driver), never guessed later from an error's words.
 */
export function isUnavailable(error: unknown): boolean {
  return error instanceof ProjectionUnavailableError || error instanceof EventStoreUnavailableError;
}
