import type { Kysely } from 'kysely';
import type { StreamPosition } from '../../contracts/consistency-token.ts';
import { parseStreamId } from '../../contracts/streams.ts';
import { unavailable } from '../../shared/http-errors.ts';
import { inSpan } from '../../shared/tracing.ts';
import { isMember } from './group-chats/group-chats.queries.ts';
import { isMemberOfMessageChat } from './messages/messages.queries.ts';
import { isUnavailable } from '../projection/index.ts';
import type { Database, Projector } from '../projection/index.ts';

export interface ReadYourWritesOptions {
  /** How long a query waits for a token's version before giving up (docs/api.md, read-your-writes: 2 s → 504). */
  readonly timeoutMs: number;
  /** Queries that may wait at once in this process; one more answers 503 with Retry-After. */
  readonly maxWaiters: number;
  /** Of those, how many one caller may hold, so that no caller can take every slot. */
  readonly maxWaitersPerCaller: number;
  /**
   * Told when a catch-up could not apply a commit (an event type this reader does not know, a
   * commit the log contradicts, a row the database refuses): a projection failure, reported
   * here and never answered as a 500.
   */
  readonly onProjectionFailure?: (streamId: string, error: Error) => void;
}

interface Waiter {
  readonly version: number;
  readonly settle: (reached: boolean | Error) => void;
}

/** A catch-up of one stream that runs once for everyone who asked before it started. */
interface SharedRun {
  readonly promise: Promise<number>;
  start(): void;
}

interface StreamState {
  readonly waiters: Set<Waiter>;
  /** The catch-up reading the log now. */
  running?: Promise<number>;
  /** The one that starts when it ends, shared by everyone who asked meanwhile. */
  queued?: SharedRun;
}

/**
 * Read-your-writes (docs/api.md). A query given `X-Consistency-Token` first asks whether the token is
 * the caller's to follow: its stream must be a chat the caller is a member of, or a message in
 * one. A token for a stream that does not exist and one for a stream the caller may not see
 * are treated alike (the query answers as if no token had been given), after the same steps.
 *
 * Waiting is cheap. Waiters on one stream share one catch-up from the log (a caller arriving
 * while it runs shares the next one, which is sure to see the caller's write); they are woken
 * when the projector reports the position, whoever reached it (the local feed, a catch-up);
 * nobody polls. At most `maxWaiters` wait or catch a stream up for `follows` at once, and
 * `maxWaitersPerCaller` of one caller: one more is told 503 with Retry-After, before it reads
 * anything.
 */
export class ReadYourWrites {
  readonly #projector: Projector;
  readonly #db: Kysely<Database>;
  readonly #options: ReadYourWritesOptions;
  readonly #streams = new Map<string, StreamState>();
  readonly #waitingPerCaller = new Map<string, number>();
  #waiting = 0;

  constructor(projector: Projector, db: Kysely<Database>, options: ReadYourWritesOptions) {
    this.#projector = projector;
    this.#db = db;
    this.#options = options;
    projector.onPosition((streamId, version) => this.#reached(streamId, version));
  }

  /** Queries waiting now. */
  get waiting(): number {
    return this.#waiting;
  }

  /**
   * Whether `callerId` may follow a token naming `target`: it is a member of the chat the
   * stream belongs to (the chat itself, or the chat of the message), after catching the stream
   * up from the log in case the projection lags behind the caller's own write.
   */
  async follows(callerId: string, target: StreamPosition): Promise<boolean> {
    if (await this.#visible(callerId, target.streamId)) return true;
    // Exactly the same work whether the stream does not exist or is someone else's: one
    // catch-up of the named stream from the log, then the same question again. A catch-up that
    // fails for a projection reason is reported and changes nothing, so it tells nothing either.
    // The catch-up reads the log, so it takes a slot like a wait does: a caller cannot make this
    // process read the log more than its share, whatever streams its tokens name.
    const release = this.#slot(callerId);
    try {
      await this.catchUp(target.streamId);
    } catch (error) {
      this.#projectionFailed(target.streamId, error);
    } finally {
      release();
    }
    return this.#visible(callerId, target.streamId);
  }

  /**
   * One of the process's `maxWaiters` slots, and one of the caller's `maxWaitersPerCaller`, held
   * until `release` (once): taken before any work a token asks of the log, or 503 with Retry-After.
   */
  #slot(callerId: string): () => void {
    if (this.#waiting >= this.#options.maxWaiters) {
      throw unavailable('too many queries are waiting for their X-Consistency-Token; retry shortly');
    }
    const own = this.#waitingPerCaller.get(callerId) ?? 0;
    if (own >= this.#options.maxWaitersPerCaller) {
      throw unavailable('too many of your queries are waiting for their X-Consistency-Token; retry shortly');
    }
    this.#waiting++;
    this.#waitingPerCaller.set(callerId, own + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#waiting--;
      const left = (this.#waitingPerCaller.get(callerId) ?? 1) - 1;
      if (left > 0) this.#waitingPerCaller.set(callerId, left);
      else this.#waitingPerCaller.delete(callerId);
    };
  }

  /**
   * Resolves true once the stream's projection reached the target version (catching it up from
   * the log when the projector is behind), false after the deadline or when the catch-up cannot
   * apply the commits before it (reported through `onProjectionFailure`).
   */
  reach(target: StreamPosition, callerId: string): Promise<boolean> {
    return inSpan('consistency wait', { 'consistency.stream_id': target.streamId, 'consistency.version': target.version }, async (span) => {
      const reached = await this.#reach(target, callerId);
      span.setAttribute('consistency.reached', reached);
      return reached;
    });
  }

  async #reach(target: StreamPosition, callerId: string): Promise<boolean> {
    if ((await this.#projector.position(target.streamId)) >= target.version) return true;
    const release = this.#slot(callerId);
    const state = this.#state(target.streamId);
    const reached = new Promise<boolean | Error>((resolve) => {
      const timer = setTimeout(() => settle(false), this.#options.timeoutMs);
      const waiter: Waiter = { version: target.version, settle: (outcome) => settle(outcome) };
      const settle = (outcome: boolean | Error) => {
        if (!state.waiters.delete(waiter)) return;
        clearTimeout(timer);
        release();
        this.#forget(target.streamId);
        resolve(outcome);
      };
      state.waiters.add(waiter);
    });
    this.catchUp(target.streamId).catch((error: unknown) => this.#failed(target.streamId, error));
    const outcome = await reached;
    if (outcome instanceof Error) throw outcome;
    return outcome;
  }

  /**
   * Catches one stream up from the log. Concurrent callers share: one run at a time per stream,
   * and everyone who asks while it runs shares the single run after it (which reads the log
   * after their call, so it sees what they wrote before asking).
   */
  catchUp(streamId: string): Promise<number> {
    const state = this.#state(streamId);
    if (!state.running) return this.#run(streamId, state);
    if (!state.queued) {
      let start!: () => void;
      const promise = new Promise<number>((resolve, reject) => {
        start = () => this.#run(streamId, state).then(resolve, reject);
      });
      state.queued = { promise, start };
    }
    return state.queued.promise;
  }

  #run(streamId: string, state: StreamState): Promise<number> {
    const running = this.#projector.catchUp(streamId);
    state.running = running;
    const next = () => {
      state.running = undefined;
      const queued = state.queued;
      state.queued = undefined;
      if (queued) queued.start();
      else this.#forget(streamId);
    };
    running.then(next, next);
    return running;
  }

  #reached(streamId: string, version: number): void {
    const state = this.#streams.get(streamId);
    if (!state) return;
    for (const waiter of [...state.waiters]) if (waiter.version <= version) waiter.settle(true);
  }

  /** A catch-up failed: an outage fails its waiters (503); a projection failure is reported, and they answer as not reached. */
  #failed(streamId: string, error: unknown): void {
    const state = this.#streams.get(streamId);
    if (!state) return;
    let outcome: boolean | Error = false;
    if (isUnavailable(error)) outcome = error as Error;
    else this.#projectionFailed(streamId, error);
    for (const waiter of [...state.waiters]) waiter.settle(outcome);
  }

  #projectionFailed(streamId: string, error: unknown): void {
    if (isUnavailable(error)) throw error;
    this.#options.onProjectionFailure?.(streamId, error instanceof Error ? error : new Error(String(error)));
  }

  /** One query, whatever the stream: whether it exists, and whose it is, changes only its answer. */
  async #visible(callerId: string, streamId: string): Promise<boolean> {
    const stream = parseStreamId(streamId);
    if (!stream) return false;
    return stream.kind === 'GroupChat' ? isMember(this.#db, stream.id, callerId) : isMemberOfMessageChat(this.#db, stream.id, callerId);
  }

  #state(streamId: string): StreamState {
    let state = this.#streams.get(streamId);
    if (!state) {
      state = { waiters: new Set() };
      this.#streams.set(streamId, state);
    }
    return state;
  }

  #forget(streamId: string): void {
    const state = this.#streams.get(streamId);
    if (state && state.waiters.size === 0 && !state.running && !state.queued) this.#streams.delete(streamId);
  }
}
