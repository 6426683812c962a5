/**
 * The shape of the write side's domain, after emmett's `Decider<State, Command, Event>`: a stream's
 * events fold into a state (`initialState`, `evolve`), and `decide` answers a command on that state
 * with the events to append or the rule that refuses it. Pure: no I/O, no clock, no HTTP.
 *
 * `R` is what a decision reads besides its own stream (a message command reads its chat: membership
 * and roles); the handler loads it, the decider never writes it.
 */
export interface Decider<S, C, E, R = undefined> {
  readonly initialState: () => S;
  readonly evolve: (state: S, event: E) => S;
  readonly decide: (command: C, state: S, read: R) => Decision<E>;
}

/** A decision: the events to append (at least one), or the rule that refused the command. */
export type Decision<E> = readonly [E, ...E[]] | DomainError;

/**
 * Why a command was refused. The handler turns the kind into its HTTP status where it throws
 * (handle-command.ts); deciders know nothing of HTTP.
 */
export type DomainErrorKind =
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
  readonly kind: DomainErrorKind;

  constructor(kind: DomainErrorKind, message: string) {
    super(message);
    this.kind = kind;
  }
}

export const notFound = (message: string) => new DomainError('not-found', message);
export const forbidden = (message: string) => new DomainError('forbidden', message);
export const conflict = (message: string) => new DomainError('conflict', message);
export const gone = (message: string) => new DomainError('gone', message);
