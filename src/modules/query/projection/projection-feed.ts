import type { Commit } from '../../../eventstore/index.ts';
import { isUnavailable } from '../query-errors.ts';
import type { Projector } from './projector.ts';

export interface FeedLogger {
  warn(details: object, message: string): void;
  info(details: object, message: string): void;
}

export interface ProjectionFeedOptions {
  /** How soon streams that could not be applied are caught up from the log again. */
  readonly retryMs?: number;
  readonly logger?: FeedLogger;
  /** Commits applied together, in one transaction (default 500). */
  readonly maxBatch?: number;
  /** Commits waiting for the projector before a hand-off makes its caller wait (default 2,000). */
  readonly maxQueued?: number;
  /**
   * The longest a hand-off waits for room (default 250 ms). A database that stalls without
   * failing must not hold commands: past this, the commit leaves the queue and its stream is
   * caught up from the log instead.
   */
  readonly maxWaitMs?: number;
}

/**
 * Delivery in local one-process mode (SPEC §4). Each appended commit joins a queue that one
 * worker drains in batches: whatever arrived while a batch was being applied goes, all of it,
 * into the next one (one transaction, the same path as the projector function's stream
 * batches). The queue is bounded: a hand-off while it is full returns a promise that resolves
 * once there is room again, and the command module waits for it before it answers, so writers
 * slow down to what the projection keeps up with rather than piling up work that times out. The
 * wait is short (`maxWaitMs`): a database that stalls without failing costs a command at most
 * that, and the commit's stream is caught up from the log instead.
 *
 * A failure never loses anything, since every commit is in the log: a commit that cannot be
 * applied has its stream caught up from the log on a timer; while the database cannot be
 * reached, commits are not queued at all, their streams are only noted, and caught up (many at
 * once) once it answers again. At start every stream is caught up from a scan of the log.
 */
export class ProjectionFeed {
  readonly #projector: Projector;
  readonly #retryMs: number;
  readonly #logger: FeedLogger | undefined;
  readonly #maxBatch: number;
  readonly #maxQueued: number;
  readonly #maxWaitMs: number;
  #queue: Commit[] = [];
  readonly #waitingForRoom: (() => void)[] = [];
  /** Streams to catch up from the log: their commits could not be applied, or were not queued. */
  readonly #pending = new Set<string>();
  /** The database failed as unreachable: hand-offs only note their stream until a retry succeeds. */
  #outage = false;
  #fullCatchUpDue = false;
  #draining: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #retrying: Promise<void> | undefined;
  #stopped = false;

  constructor(projector: Projector, options: ProjectionFeedOptions = {}) {
    this.#projector = projector;
    this.#retryMs = options.retryMs ?? 1_000;
    this.#logger = options.logger;
    this.#maxBatch = options.maxBatch ?? 500;
    this.#maxQueued = options.maxQueued ?? 2_000;
    this.#maxWaitMs = options.maxWaitMs ?? 250;
  }

  /** Catches every stream up from the log (at start: nothing appended while down is lost). */
  async start(): Promise<void> {
    try {
      const { applied, failed } = await this.#projector.catchUpAll();
      this.#logger?.info({ applied }, 'projection caught up with the event log');
      for (const { streamId, error } of failed) this.#failed(streamId, error);
    } catch (error) {
      this.#logger?.warn({ err: error }, 'projection catch-up failed; retrying');
      this.#fullCatchUpDue = true;
      this.#schedule();
    }
  }

  /**
   * Hands one commit to the projector. Returns at once while the queue has room; otherwise a
   * promise that resolves when it has again (never rejects). The commit is taken either way.
   */
  deliver(commit: Commit): Promise<void> | undefined {
    if (this.#stopped) return undefined;
    if (this.#outage) {
      this.#pending.add(commit.streamId);
      this.#schedule();
      return undefined;
    }
    this.#queue.push(commit);
    this.#drain();
    if (this.#queue.length <= this.#maxQueued) return undefined;
    return new Promise((resolve) => {
      const room = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        const waiting = this.#waitingForRoom.indexOf(room);
        if (waiting >= 0) this.#waitingForRoom.splice(waiting, 1);
        // Still queued: the projection is stalled. The log has the commit; its stream catches up later.
        const queued = this.#queue.indexOf(commit);
        if (queued >= 0) {
          this.#queue.splice(queued, 1);
          this.#pending.add(commit.streamId);
          this.#schedule();
        }
        resolve();
      }, this.#maxWaitMs);
      this.#waitingForRoom.push(room);
    });
  }

  /** Streams waiting for a retry. */
  get pending(): number {
    return this.#pending.size + (this.#fullCatchUpDue ? 1 : 0);
  }

  /** Commits handed over and not yet applied. */
  get queued(): number {
    return this.#queue.length;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#roomFreed(true);
    await this.#draining;
    await this.#retrying;
  }

  #drain(): void {
    this.#draining ??= this.#applyQueued().finally(() => (this.#draining = undefined));
  }

  async #applyQueued(): Promise<void> {
    while (this.#queue.length > 0 && !this.#stopped) {
      const batch = this.#queue.splice(0, this.#maxBatch);
      this.#roomFreed();
      try {
        const results = await this.#projector.applyBatch(batch);
        results.forEach((result, index) => {
          if (result.outcome === 'failed') this.#failed(batch[index]!.streamId, result.error);
        });
      } catch (error) {
        this.#logger?.warn({ err: error, commits: batch.length }, 'projection failed; will catch up from the log');
        for (const commit of batch) this.#pending.add(commit.streamId);
        if (isUnavailable(error)) {
          // Nothing can be applied for now: keep only the streams' names, and free every waiting writer.
          this.#outage = true;
          for (const commit of this.#queue) this.#pending.add(commit.streamId);
          this.#queue = [];
          this.#roomFreed(true);
        }
        this.#schedule();
      }
    }
  }

  #roomFreed(all = false): void {
    while (this.#waitingForRoom.length > 0 && (all || this.#queue.length < this.#maxQueued)) this.#waitingForRoom.shift()!();
  }

  #failed(streamId: string, error: Error): void {
    if (!this.#pending.has(streamId)) this.#logger?.warn({ err: error, streamId }, 'projection failed; will catch up from the log');
    this.#pending.add(streamId);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#timer || this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#retrying = this.#retry().finally(() => (this.#retrying = undefined));
    }, this.#retryMs);
    this.#timer.unref();
  }

  async #retry(): Promise<void> {
    try {
      if (this.#fullCatchUpDue) {
        const { failed } = await this.#projector.catchUpAll();
        this.#fullCatchUpDue = false;
        this.#pending.clear();
        for (const { streamId } of failed) this.#pending.add(streamId);
      }
      // Streams noted meanwhile join the next round; the outage is over once the database answered.
      while (this.#pending.size > 0 && !this.#stopped) {
        const streams = [...this.#pending];
        this.#pending.clear();
        let failed;
        try {
          failed = await this.#projector.catchUpStreams(streams);
        } catch (error) {
          for (const streamId of streams) this.#pending.add(streamId);
          throw error;
        }
        this.#outage = false;
        if (failed.length > 0) {
          for (const { streamId } of failed) this.#pending.add(streamId);
          break;
        }
      }
      this.#outage = false;
      if (this.#pending.size === 0) this.#logger?.info({}, 'projection recovered');
      else this.#schedule();
    } catch (error) {
      if (!isUnavailable(error)) this.#logger?.warn({ err: error }, 'projection retry failed');
      this.#schedule();
    }
  }
}
