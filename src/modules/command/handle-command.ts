import { setTimeout as sleep } from 'node:timers/promises';
import Boom from '@hapi/boom';
import { LRUCache } from 'lru-cache';
import { EventStoreUnavailableError, VersionConflictError } from '../../eventstore/index.ts';
import type { Commit, EventStore, KeyClaim, NewEvent, Refusal } from '../../eventstore/index.ts';
import { unavailable } from '../../shared/http-errors.ts';
import { inSpan } from '../../shared/tracing.ts';
import type { Span } from '../../shared/tracing.ts';
import { DomainError } from './decider.ts';
import type { Decider, DomainErrorKind } from './decider.ts';

/** The one table from a refusal to its HTTP status (docs/api.md, status codes). */
const statusOf: Record<DomainErrorKind, number> = {
  'not-found': 404,
  forbidden: 403,
  conflict: 409,
  gone: 410,
};

/** Refusals that say the caller may not see the stream at all: they come before If-Match. */
const precedesIfMatch: ReadonlySet<DomainErrorKind> = new Set(['not-found', 'gone']);

/** How a stream's events fold into a state (a decider's first two parts). */
type Fold<S, E> = Pick<Decider<S, unknown, E, never>, 'initialState' | 'evolve'>;

/** Who issued a command, when, and under which identity (docs/api.md, idempotency). */
export interface CommandMetadata {
  /** Random per request, or derived from the caller and its Idempotency-Key. */
  readonly commandId: string;
  /** Fingerprint of the request, so reusing an Idempotency-Key for other content is noticed. */
  readonly commandHash: string;
  /**
   * Present when the caller sent an Idempotency-Key: the key's record name (derived from caller
   * and key). The key is claimed for this request before its first append, so reusing it for
   * any other request, on any stream, is refused.
   */
  readonly idempotencyKey?: string;
  readonly actorId: string;
  readonly now: Date;
}

/** How to run one command, besides the decider, the stream and the command itself. */
export type RunOptions<R> = {
  readonly metadata: CommandMetadata;
  /** From If-Match: strict optimistic concurrency instead of re-deciding on a conflict. */
  readonly expectedVersion?: number;
} & (undefined extends R
  ? { readonly reads?: undefined }
  : {
      /** The other stream the decision reads (a message's chat); loaded again on each attempt. */
      readonly reads: { readonly streamId: string; readonly fold: Fold<R, never> };
    });

export interface Handled {
  readonly streamId: string;
  /** The stream's version after the command's commit. */
  readonly version: number;
  /** The commit appended now; absent when a retried command found its earlier commit. */
  readonly appended?: Commit;
}

interface Loaded<S> {
  readonly version: number;
  readonly state: S;
  /** commandId → the version and request fingerprint of the commit it produced. */
  readonly commands: ReadonlyMap<string, { readonly version: number; readonly commandHash: string | undefined }>;
}

export interface CommandHandlerOptions {
  /** Attempts per command when other writers keep winning the stream. */
  readonly maxAttempts?: number;
  /** Streams whose folded state is kept between commands. */
  readonly cacheSize?: number;
}

/**
 * The one generic command handler: load the stream, fold the decider's `evolve`, `decide`, append
 * at the version it decided on, and on a conflict reload and decide again (bounded). Every way a
 * command can fail becomes its HTTP answer here, where it happens (a Boom), so nothing travels
 * through a 500 and back.
 *
 * Folded states are cached per stream: the log is append-only, so a cached state stays true
 * and a load reads only the commits after it. That keeps a command on a chat with a long
 * history as cheap as one on a new chat.
 */
export class CommandHandler {
  readonly #store: EventStore;
  readonly #maxAttempts: number;
  readonly #cache: LRUCache<string, Loaded<unknown>>;

  constructor(store: EventStore, options: CommandHandlerOptions = {}) {
    this.#store = store;
    this.#maxAttempts = options.maxAttempts ?? 30;
    this.#cache = new LRUCache({ max: options.cacheSize ?? 5_000 });
  }

  /**
   * One span per command, the store's calls beneath it; each version conflict that
   * sends it round again is an event on it.
   */
  handle<S, C, E extends NewEvent, R>(decider: Decider<S, C, E, R>, streamId: string, command: C, options: RunOptions<R>): Promise<Handled> {
    return inSpan('decide and append', { 'command.stream_id': streamId }, async (span) => {
      const handled = await this.#handleOrUnavailable(decider, streamId, command, options, span);
      span.setAttributes({ 'command.version': handled.version, 'command.appended': handled.appended !== undefined });
      return handled;
    });
  }

  async #handleOrUnavailable<S, C, E extends NewEvent, R>(decider: Decider<S, C, E, R>, streamId: string, command: C, options: RunOptions<R>, span: Span): Promise<Handled> {
    try {
      return await this.#handle(decider, streamId, command, options, span);
    } catch (error) {
      // By type, never by message: only the store's own "cannot reach the log" is a 503.
      if (error instanceof EventStoreUnavailableError) throw unavailable('event store unavailable', { cause: error });
      throw error;
    }
  }

  async #handle<S, C, E extends NewEvent, R>(decider: Decider<S, C, E, R>, streamId: string, command: C, options: RunOptions<R>, span: Span): Promise<Handled> {
    const { metadata, expectedVersion, reads } = options;
    let unclaimedKey = metadata.idempotencyKey;
    for (let attempt = 1; ; attempt++) {
      const loaded = await this.#load(streamId, decider);
      const earlier = loaded.commands.get(metadata.commandId);
      if (earlier) {
        if (earlier.commandHash !== metadata.commandHash) throw keyReused();
        return { streamId, version: earlier.version };
      }
      const read = (reads ? (await this.#load(reads.streamId, reads.fold)).state : undefined) as R;
      const decision = decider.decide(command, loaded.state, read);
      /**
       * The decision refused the command: with an Idempotency-Key, the key is bound to this
       * refusal first (docs/api.md, idempotency), so a retry replays it even after the state
       * changed, and another request with the key is 422. A retry whose first answer was
       * another refusal replays that one.
       */
      const refuse = async (answer: Boom.Boom): Promise<never> => {
        if (metadata.idempotencyKey !== undefined) {
          const outcome = await this.#store.claimKey({ ...claimOf(metadata), refusal: { status: answer.output.statusCode, message: answer.message } });
          if (!outcome.ours) throw keyReused();
          if (outcome.refusal) throw replayed(outcome.refusal);
        }
        throw answer;
      };
      // docs/api.md, order of checks: whether the caller may see the chat (404, 410) comes before
      // If-Match (412), which comes before rights and rules (403, 409). A non-member never
      // learns a version.
      if (decision instanceof DomainError && precedesIfMatch.has(decision.kind)) return refuse(refusal(decision));
      if (expectedVersion !== undefined && expectedVersion !== loaded.version) {
        return refuse(Boom.preconditionFailed(`If-Match is stale: version is ${loaded.version}, not ${expectedVersion}`));
      }
      if (decision instanceof DomainError) return refuse(refusal(decision));
      if (unclaimedKey !== undefined) {
        // Before the append: a crash in between leaves a claim that a retry of the same request
        // honours (and completes), while any other request with the key is refused. A key whose
        // first answer was a refusal keeps answering it, whatever the decision is now.
        const outcome = await this.#store.claimKey(claimOf(metadata));
        if (!outcome.ours) throw keyReused();
        if (outcome.refusal) throw replayed(outcome.refusal);
        unclaimedKey = undefined;
      }
      try {
        const commit = await this.#store.append({
          streamId,
          expectedVersion: loaded.version,
          commandId: metadata.commandId,
          commandHash: metadata.commandHash,
          actorId: metadata.actorId,
          occurredAt: metadata.now.toISOString(),
          events: decision,
        });
        this.#remember(streamId, fold(loaded, [commit], decider));
        return { streamId, version: commit.version, appended: commit };
      } catch (error) {
        if (!(error instanceof VersionConflictError)) throw error;
        span.addEvent('version conflict', { attempt, expected_version: loaded.version });
        // Loop: the reload shows whether this very command got in (a retried put) or another did.
        if (attempt >= this.#maxAttempts) throw unavailable('too many concurrent changes to this chat; retry', { cause: error });
        await sleep(Math.random() * Math.min(100, 2 ** attempt));
      }
    }
  }

  /** The stream's current folded state: the cached fold plus whatever was appended since. */
  async #load<S, E>(streamId: string, by: Fold<S, E>): Promise<Loaded<S>> {
    const cached = this.#cache.get(streamId) as Loaded<S> | undefined;
    const base: Loaded<S> = cached ?? { version: 0, state: by.initialState(), commands: new Map() };
    const newer = await this.#store.readStream(streamId, { fromVersion: base.version + 1 });
    if (newer.length === 0) return base;
    const loaded = fold(base, newer as readonly Commit[] as readonly Commit<E & NewEvent>[], by);
    this.#remember(streamId, loaded);
    return loaded;
  }

  #remember(streamId: string, loaded: Loaded<unknown>): void {
    const cached = this.#cache.get(streamId);
    if (!cached || cached.version < loaded.version) this.#cache.set(streamId, loaded);
  }
}

const refusal = (error: DomainError) => new Boom.Boom(error.message, { statusCode: statusOf[error.kind] });
/** The refusal a key was bound to, answered again as it was. */
const replayed = (bound: Refusal) => new Boom.Boom(bound.message, { statusCode: bound.status });
/** The claim of the request's Idempotency-Key (the caller sent one). */
const claimOf = (metadata: CommandMetadata): KeyClaim => ({ key: metadata.idempotencyKey!, fingerprint: metadata.commandHash, occurredAt: metadata.now.toISOString() });
/** An Idempotency-Key came back with a different request than the one it first named (422). */
const keyReused = () => Boom.badData('Idempotency-Key was already used for a different request');

function fold<S, E>(base: Loaded<S>, commits: readonly Commit<E & NewEvent>[], by: Fold<S, E>): Loaded<S> {
  let { state, version } = base;
  const commands = new Map(base.commands);
  for (const commit of commits) {
    if (commit.version !== version + 1) throw new Error(`stream ${commit.streamId} skips from ${version} to ${commit.version}`);
    state = commit.events.reduce(by.evolve, state);
    version = commit.version;
    commands.set(commit.commandId, { version, commandHash: commit.commandHash });
  }
  return { version, state, commands };
}
