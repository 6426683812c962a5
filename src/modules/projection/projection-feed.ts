import type { Commit } from '../../eventstore/index.ts';
import { isUnavailable } from './projection-errors.ts';
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
  /**
   * Commits the queue keeps for a stalled projection (default 2,000): a commit still queued when
   * its hand-off stops waiting leaves the queue past this many, and its stream is caught up from
   * the log instead, so the queue stays bounded however long the database stalls.
   */
  readonly maxQueued?: number;
  /**
   * The longest a hand-off waits for its commit to be applied (default 250 ms). A database that
   * stalls without failing must not hold commands: past this, the command answers anyway and the
   * commit is applied when the projection moves again (or, past `maxQueued`, caught up from the log).
   */
  readonly maxWaitMs?: number;
}

interface Handed {
  readonly commit: Commit;
  /** Tells the hand-off its commit's batch is over (applied, or its stream noted for a catch-up). */
  readonly settle: () => void;
}

/**
 * Delivery in local one-process mode (ARCHITECTURE.md, the read side). Each appended commit joins a
 * queue that one worker drains in batches: whatever arrived while a batch was being applied goes,
 * all of it, into the next one (one transaction, the same path as the projector function's stream
 * batches). A hand-off returns a promise that resolves once its commit's batch is over, and the
 * command module waits for it before it answers: a command answered locally is in the read model
 * already, and writers slow down to what the projection keeps up with instead of running ahead of
 * it. The wait is short (`maxWaitMs`): a database that stalls without failing costs a command at
 * most that; the commit stays queued, and past `maxQueued` queued commits it leaves the queue and
 * its stream is caught up from the log instead.
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
  #queue: Handed[] = [];
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
   * Hands one commit to the projector. Returns a promise that resolves once the commit's batch is
   * over, or after `maxWaitMs` at most (never rejects); nothing to wait for while the database is
   * out (the commit's stream is only noted) or once stopped. The commit is taken either way.
   */
  deliver(commit: Commit): Promise<void> | undefined {
    if (this.#stopped) return undefined;
    if (this.#outage) {
      this.#pending.add(commit.streamId);
      this.#schedule();
      return undefined;
    }
    return new Promise((resolve) => {
      const handed: Handed = {
        commit,
        settle: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        // The projection is stalled: the command answers anyway. Past the bound the commit leaves
        // the queue (the log has it; its stream catches up later), so a stall cannot grow it.
        if (this.#queue.length > this.#maxQueued) {
          const queued = this.#queue.indexOf(handed);
          if (queued >= 0) {
            this.#queue.splice(queued, 1);
            this.#pending.add(commit.streamId);
            this.#schedule();
          }
        }
        resolve();
      }, this.#maxWaitMs);
      this.#queue.push(handed);
      this.#drain();
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
    // What is still queued is in the log: the next start catches it up. Nobody waits for it.
    for (const { settle } of this.#queue) settle();
    await this.#draining;
    await this.#retrying;
  }

  #drain(): void {
    this.#draining ??= this.#applyQueued().finally(() => (this.#draining = undefined));
  }

  async #applyQueued(): Promise<void> {
    while (this.#queue.length > 0 && !this.#stopped) {
      const batch = this.#queue.splice(0, this.#maxBatch);
      const commits = batch.map(({ commit }) => commit);
      try {
        const results = await this.#projector.applyBatch(commits);
        results.forEach((result, index) => {
          if (result.outcome === 'failed') this.#failed(commits[index]!.streamId, result.error);
        });
      } catch (error) {
        this.#logger?.warn({ err: error, commits: batch.length }, 'projection failed; will catch up from the log');
        for (const commit of commits) this.#pending.add(commit.streamId);
        if (isUnavailable(error)) {
          // Nothing can be applied for now: keep only the streams' names, and free every waiting writer.
          this.#outage = true;
          for (const { commit, settle } of this.#queue) {
            this.#pending.add(commit.streamId);
            settle();
          }
          this.#queue = [];
        }
        this.#schedule();
      }
      for (const { settle } of batch) settle();
    }
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
