import type { Commit } from '../../../eventstore/index.ts';
import type { Projector } from './projector.ts';

export interface FeedLogger {
  warn(details: object, message: string): void;
  info(details: object, message: string): void;
}

/**
 * Delivery in local one-process mode (SPEC §4): each appended commit is applied asynchronously;
 * a stream whose commit could not be applied (Postgres down) is retried on a timer by catching
 * it up from the log, so the projection heals by itself once the database is back.
 */
export class ProjectionFeed {
  readonly #projector: Projector;
  readonly #retryMs: number;
  readonly #logger: FeedLogger | undefined;
  readonly #pending = new Set<string>();
  #fullCatchUpDue = false;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(projector: Projector, options: { retryMs?: number; logger?: FeedLogger } = {}) {
    this.#projector = projector;
    this.#retryMs = options.retryMs ?? 1_000;
    this.#logger = options.logger;
  }

  /** Catches every stream up from the log (at start: nothing appended while down is lost). */
  async start(): Promise<void> {
    try {
      const { applied } = await this.#projector.catchUpAll();
      this.#logger?.info({ applied }, 'projection caught up with the event log');
    } catch (error) {
      this.#logger?.warn({ err: error }, 'projection catch-up failed; retrying');
      this.#fullCatchUpDue = true;
      this.#schedule();
    }
  }

  /** Hands one commit to the projector without making the caller wait or fail. */
  deliver(commit: Commit): void {
    if (this.#stopped) return;
    this.#projector.apply(commit).catch((error: unknown) => {
      this.#logger?.warn({ err: error, streamId: commit.streamId }, 'projection failed; will catch up');
      this.#pending.add(commit.streamId);
      this.#schedule();
    });
  }

  /** Streams waiting for a retry. */
  get pending(): number {
    return this.#pending.size + (this.#fullCatchUpDue ? 1 : 0);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  #schedule(): void {
    if (this.#timer || this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#running = this.#retry().finally(() => (this.#running = undefined));
    }, this.#retryMs);
    this.#timer.unref();
  }

  async #retry(): Promise<void> {
    try {
      if (this.#fullCatchUpDue) {
        await this.#projector.catchUpAll();
        this.#fullCatchUpDue = false;
        this.#pending.clear();
      }
      for (const streamId of [...this.#pending]) {
        await this.#projector.catchUp(streamId);
        this.#pending.delete(streamId);
      }
      this.#logger?.info({}, 'projection recovered');
    } catch {
      this.#schedule();
    }
  }
}
