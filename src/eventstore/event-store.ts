/** One event as the domain produces it, before the log assigns it a place. */
export interface NewEvent {
  readonly type: string;
  readonly data: Readonly<Record<string, unknown>>;
}

/**
 * A commit: the unit of append. It holds the 1..n events one command produced, all at the
 * same stream version; the stream's version counts commits.
 */
export interface Commit<E extends NewEvent = NewEvent> {
  readonly streamId: string;
  /** 1 for the first commit of a stream, then +1 per commit. */
  readonly version: number;
  /** Identifies the command that produced the commit; a retried command carries the same id. */
  readonly commandId: string;
  /** Fingerprint of the request behind the command, so a reused id with other content is noticed. */
  readonly commandHash?: string;
  readonly actorId: string;
  /** ISO-8601 timestamp. */
  readonly occurredAt: string;
  readonly events: readonly E[];
  /**
   * The W3C `traceparent` of the command that wrote the commit, when that command was traced.
   * Optional: commits written without tracing, and all older ones, have none.
   */
  readonly traceparent?: string;
}

export interface AppendRequest<E extends NewEvent = NewEvent> {
  readonly streamId: string;
  /** The version the caller decided on; 0 for a stream that must not exist yet. */
  readonly expectedVersion: number;
  readonly commandId: string;
  readonly commandHash?: string;
  readonly actorId: string;
  readonly occurredAt: string;
  readonly events: readonly E[];
}

/** A claim on an Idempotency-Key: the key names this request from now on (docs/api.md, idempotency). */
export interface KeyClaim {
  /** Derived from the caller and the key the caller sent, so two callers' keys never meet. */
  readonly key: string;
  /** Fingerprint of the request (route, path parameters, body). */
  readonly fingerprint: string;
  readonly occurredAt: string;
  /** The request was refused by its decision: the key answers with this refusal from now on. */
  readonly refusal?: Refusal;
}

/** A refusal a key is bound to (docs/api.md, idempotency): its status and message, replayed as they were. */
export interface Refusal {
  readonly status: number;
  readonly message: string;
}

/** What a claim found: whether the key names this request, and the refusal it is bound to, if any. */
export interface KeyOutcome {
  readonly ours: boolean;
  /** Set when the key names this request and its first answer was a refusal. */
  readonly refusal?: Refusal;
}

export interface ReadOptions {
  /** First version to return (inclusive); 1 by default. */
  readonly fromVersion?: number;
}

export interface ScanOptions {
  /** Parallel scan segments; more segments read a large log faster. */
  readonly segments?: number;
}

/**
 * The event log. Implementations must make `append` atomic and conditional: exactly one of
 * several appends at the same expected version succeeds, the others throw `VersionConflictError`.
 *
 * @example
 * const commit = await store.append({
 *   streamId: 'GroupChat-0190…', expectedVersion: 0, commandId, actorId: 'alice',
 *   occurredAt: new Date().toISOString(), events: [{ type: 'GroupChatCreated', data: { name, ownerId } }],
 * });
 * const history = await store.readStream(commit.streamId);
 */
export interface EventStore {
  append<E extends NewEvent>(request: AppendRequest<E>): Promise<Commit<E>>;
  /** The stream's commits in version order; an unknown stream reads as empty. */
  readStream(streamId: string, options?: ReadOptions): Promise<readonly Commit[]>;
  /** Every commit of every stream, in pages, in no particular order (for rebuilds). */
  scan(options?: ScanOptions): AsyncIterable<readonly Commit[]>;
  /**
   * Records that `claim.key` names the request with `claim.fingerprint` (and, for a refused
   * request, its refusal), unless it already names one. `ours` when the key names this request
   * (just now, or since an earlier attempt of the same request), with the refusal the first claim
   * recorded; not `ours` when it names another request. Durable: it holds across restarts.
   */
  claimKey(claim: KeyClaim): Promise<KeyOutcome>;
  /**
   * A cheap round trip that fails when the log cannot be reached, or when the last write it was
   * sent failed for the log's own reasons and none has succeeded since (reads can work while
   * writes do not).
   */
  ping(): Promise<void>;
}

/** Another commit already holds the version this append expected to write. */
export class VersionConflictError extends Error {
  override readonly name = 'VersionConflictError';
  readonly streamId: string;
  readonly expectedVersion: number;

  constructor(streamId: string, expectedVersion: number) {
    super(`stream ${streamId} has moved past version ${expectedVersion}`);
    this.streamId = streamId;
    this.expectedVersion = expectedVersion;
  }
}

/** The log could not be reached or refused for load; the request may be retried later. */
export class EventStoreUnavailableError extends Error {
  override readonly name = 'EventStoreUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export function validateAppend(request: AppendRequest): void {
  if (!Number.isSafeInteger(request.expectedVersion) || request.expectedVersion < 0) {
    throw new RangeError(`expectedVersion must be a non-negative integer, got ${request.expectedVersion}`);
  }
  if (request.events.length === 0) throw new RangeError('a commit holds at least one event');
  if (request.streamId.length === 0) throw new RangeError('streamId must not be empty');
}
