import { setTimeout as sleep } from 'node:timers/promises';
import { LRUCache } from 'lru-cache';
import { VersionConflictError } from '../../eventstore/index.ts';
import type { Commit, EventStore, NewEvent } from '../../eventstore/index.ts';
import { inSpan } from '../../shared/tracing.ts';
import type { Span } from '../../shared/tracing.ts';
import { DomainError } from './domain-error.ts';
import type { Decision, DomainErrorKind } from './domain-error.ts';

/** Refusals that say the caller may not see the stream at all (or sent a command that makes no sense). */
const precedesIfMatch: ReadonlySet<DomainErrorKind> = new Set(['invalid', 'not-found', 'gone']);

/** How a stream's events fold into the state its decisions need. */
export interface Aggregate<S, E extends NewEvent> {
  readonly initialState: S;
  evolve(state: S, event: E): S;
}

/** Who issued a command, when, and under which identity (SPEC §2 idempotency). */
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

export interface Handle<S, E extends NewEvent, C> {
  readonly streamId: string;
  readonly aggregate: Aggregate<S, E>;
  /** Reads what the decision needs besides the stream itself; called again on each retry. */
  readonly context?: () => Promise<C>;
  readonly decide: (state: S, context: C) => Decision<E>;
  readonly metadata: CommandMetadata;
  /** From If-Match: strict optimistic concurrency instead of re-deciding on a conflict. */
  readonly expectedVersion?: number;
}

export interface Handled {
  readonly streamId: string;
  /** The stream's version after the command's commit. */
  readonly version: number;
  /** The commit appended now; absent when a retried command found its earlier commit. */
  readonly appended?: Commit;
}

/** If-Match named a version the stream has moved past (412). */
export class StaleVersionError extends Error {
  override readonly name = 'StaleVersionError';
  constructor(
    readonly expectedVersion: number,
    readonly actualVersion: number,
  ) {
    super(`version is ${actualVersion}, not ${expectedVersion}`);
  }
}

/** An Idempotency-Key came back with a different request than the one it first named (422). */
export class IdempotencyKeyReusedError extends Error {
  override readonly name = 'IdempotencyKeyReusedError';
  constructor() {
    super('Idempotency-Key was already used for a different request');
  }
}

/** Every attempt lost the race for the stream; the caller may retry shortly (503). */
export class ContentionError extends Error {
  override readonly name = 'ContentionError';
  constructor(streamId: string, attempts: number) {
    super(`stream ${streamId} kept changing over ${attempts} attempts`);
  }
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
 * The one generic command handler: load the stream, fold `evolve`, `decide`, append at the
 * version it decided on, and on a conflict reload and decide again (bounded).
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
   * One span per command (SPEC §10), the store's calls beneath it; each version conflict that
   * sends it round again is an event on it.
   */
  handle<S, E extends NewEvent, C = undefined>(command: Handle<S, E, C>): Promise<Handled> {
    return inSpan('decide and append', { 'command.stream_id': command.streamId }, async (span) => {
      const handled = await this.#handle(command, span);
      span.setAttributes({ 'command.version': handled.version, 'command.appended': handled.appended !== undefined });
      return handled;
    });
  }

  async #handle<S, E extends NewEvent, C>(command: Handle<S, E, C>, span: Span): Promise<Handled> {
    const { streamId, metadata } = command;
    let claimed = metadata.idempotencyKey === undefined;
    for (let attempt = 1; ; attempt++) {
      const loaded = await this.load(streamId, command.aggregate);
      const earlier = loaded.commands.get(metadata.commandId);
      if (earlier) {
        if (earlier.commandHash !== metadata.commandHash) throw new IdempotencyKeyReusedError();
        return { streamId, version: earlier.version };
      }
      const context = command.context ? await command.context() : (undefined as C);
      const decision = command.decide(loaded.state, context);
      // SPEC §2 order of checks: whether the caller may see the chat (404, 410) comes before
      // If-Match (412), which comes before rights and rules (403, 409). A non-member never
      // learns a version.
      if (decision instanceof DomainError && precedesIfMatch.has(decision.kind)) throw decision;
      if (command.expectedVersion !== undefined && command.expectedVersion !== loaded.version) {
        throw new StaleVersionError(command.expectedVersion, loaded.version);
      }
      if (decision instanceof DomainError) throw decision;
      if (!claimed) {
        // Before the append: a crash in between leaves a claim that a retry of the same request
        // honours (and completes), while any other request with the key is refused.
        const fingerprint = metadata.commandHash;
        const key = metadata.idempotencyKey!;
        if (!(await this.#store.claimKey({ key, fingerprint, occurredAt: metadata.now.toISOString() }))) {
          throw new IdempotencyKeyReusedError();
        }
        claimed = true;
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
        this.#remember(streamId, fold(loaded, [commit], command.aggregate));
        return { streamId, version: commit.version, appended: commit };
      } catch (error) {
        if (!(error instanceof VersionConflictError)) throw error;
        span.addEvent('version conflict', { attempt, 'expected_version': loaded.version });
        // Loop: the reload shows whether this very command got in (a retried put) or another did.
        if (attempt >= this.#maxAttempts) throw new ContentionError(streamId, attempt);
        await sleep(Math.random() * Math.min(100, 2 ** attempt));
      }
    }
  }

  /** The stream's current folded state: the cached fold plus whatever was appended since. */
  async load<S, E extends NewEvent>(streamId: string, aggregate: Aggregate<S, E>): Promise<Loaded<S>> {
    const cached = this.#cache.get(streamId) as Loaded<S> | undefined;
    const base: Loaded<S> = cached ?? { version: 0, state: aggregate.initialState, commands: new Map() };
    const newer = await this.#store.readStream(streamId, { fromVersion: base.version + 1 });
    if (newer.length === 0) return base;
    const loaded = fold(base, newer as readonly Commit<E>[], aggregate);
    this.#remember(streamId, loaded);
    return loaded;
  }

  #remember(streamId: string, loaded: Loaded<unknown>): void {
    const cached = this.#cache.get(streamId);
    if (!cached || cached.version < loaded.version) this.#cache.set(streamId, loaded);
  }
}

function fold<S, E extends NewEvent>(base: Loaded<S>, commits: readonly Commit<E>[], aggregate: Aggregate<S, E>): Loaded<S> {
  let { state, version } = base;
  const commands = new Map(base.commands);
  for (const commit of commits) {
    if (commit.version !== version + 1) throw new Error(`stream ${commit.streamId} skips from ${version} to ${commit.version}`);
    state = commit.events.reduce(aggregate.evolve, state);
    version = commit.version;
    commands.set(commit.commandId, { version, commandHash: commit.commandHash });
  }
  return { version, state, commands };
}
