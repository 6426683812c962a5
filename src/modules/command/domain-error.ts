/**
 * What a decider answers when a command breaks a rule. One place (command-errors.ts) turns the
 * kind into an HTTP status; deciders know nothing of HTTP.
 */
export type DomainErrorKind =
  /** the command's own data breaks a rule (400) */
  | 'invalid'
  /** the chat or message is unknown, or the caller is not a member (404) */
  | 'not-found'
  /** a member lacking the right (403) */
  | 'forbidden'
  /** a rule of the current state (409) */
  | 'conflict'
  /** the chat was deleted (410) */
  | 'gone';

export class DomainError extends Error {
  override readonly name = 'DomainError';
  constructor(
    readonly kind: DomainErrorKind,
    message: string,
  ) {
    super(message);
  }
}

export const invalid = (message: string) => new DomainError('invalid', message);
export const notFound = (message: string) => new DomainError('not-found', message);
export const forbidden = (message: string) => new DomainError('forbidden', message);
export const conflict = (message: string) => new DomainError('conflict', message);
export const gone = (message: string) => new DomainError('gone', message);

/** A decision: the events to append (at least one), or the rule that refused the command. */
export type Decision<E> = readonly [E, ...E[]] | DomainError;
