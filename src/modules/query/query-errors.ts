import { EventStoreUnavailableError } from '../../eventstore/index.ts';

/** The projection database (or the log it catches up from) cannot be reached: answer 503. */
export class ProjectionUnavailableError extends Error {
  override readonly name = 'ProjectionUnavailableError';
}

const networkCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', '57P01', '57P02', '57P03']);

/**
 * Whether an error means "the store is not there" rather than "the code is wrong": connection
 * failures, timeouts, a closed client, SQLSTATE classes 08 (connection) and 53 (resources).
 */
export function isUnavailable(error: unknown): boolean {
  if (error instanceof EventStoreUnavailableError || error instanceof ProjectionUnavailableError) return true;
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (networkCodes.has(code) || /^(08|53)/.test(code))) return true;
  // pg and PGlite report lost or closed connections only in words.
  return /connect|terminated|timeout|closed|destroyed|not initialized/i.test(error.message);
}
