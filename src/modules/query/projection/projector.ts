import type { Kysely, Transaction } from 'kysely';
import { groupChatEventTypes, messageEventTypes } from '../../../contracts/events.ts';
import { parseStreamId } from '../../../contracts/streams.ts';
import type { Commit, EventStore } from '../../../eventstore/index.ts';
import { inSpan, linkTo } from '../../../shared/tracing.ts';
import type { Link } from '../../../shared/tracing.ts';
import type { Database } from '../database.ts';
import { projectGroupChatCommit } from '../group-chats/group-chats.projection.ts';
import { projectMessageCommit } from '../messages/messages.projection.ts';

export type EventLog = Pick<EventStore, 'readStream' | 'scan'>;

/** Told a stream's projected position (last applied version) after the projector reached it. */
export type PositionListener = (streamId: string, version: number) => void;

/** The delivered commit is not what the event log holds (a version it lacks, or a hole before it): never applied. */
export class LogMismatchError extends Error {
  override readonly name = 'LogMismatchError';
}

/**
 * A commit carries an event type this read model does not know (yet). Applying the rest of it
 * would move the stream's position past that event for good; refusing keeps it for a reader that
 * knows the type.
 */
export class UnknownEventTypeError extends Error {
  override readonly name = 'UnknownEventTypeError';
}

const knownEventTypes = { GroupChat: new Set<string>(groupChatEventTypes), Message: new Set<string>(messageEventTypes) };

export interface CatchUpProgress {
  /** Commits read from the log so far. */
  readonly scanned: number;
  /** Streams with commits to apply, once the log is read (0 while reading). */
  readonly streams: number;
  /** Streams applied so far. */
  readonly streamsDone: number;
  /** Events applied to the projection so far. */
  readonly applied: number;
}

/**
 * Applies commits to the projection tables exactly once in effect (SPEC §4). Per stream, the
 * position (last applied version) is read and moved in the same transaction as the rows, so
 * a duplicate is skipped, and a commit that arrives ahead of its predecessors first has the
 * missing ones read from the event log. Any delivery order gives the same rows.
 */
export class Projector {
  readonly #db: Kysely<Database>;
  readonly #log: EventLog;
  readonly #listeners = new Set<PositionListener>();

  constructor(db: Kysely<Database>, log: EventLog) {
    this.#db = db;
    this.#log = log;
  }

  /**
   * Tells `listener` every stream position this projector reaches, once the transaction that
   * reached it committed (read-your-writes waiters wake on it). Returns an unsubscribe function.
   */
  onPosition(listener: PositionListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Applies one delivered commit (and any gap before it). Returns the events applied. */
  async apply(commit: Commit): Promise<number> {
    const reached = new Map<string, number>();
    const events = await this.#db.transaction().execute((trx) => this.#applyStream(trx, commit.streamId, [commit], reached));
    this.#announce(reached);
    return events;
  }

  /** Brings one stream up to what the log holds now. Returns the stream's position afterwards. */
  async catchUp(streamId: string): Promise<number> {
    const position = await this.position(streamId);
    const commits = await this.#log.readStream(streamId, { fromVersion: position + 1 });
    const reached = new Map([[streamId, position]]);
    if (commits.length > 0) await this.#db.transaction().execute((trx) => this.#applyStream(trx, streamId, commits, reached));
    this.#announce(reached);
    return reached.get(streamId)!;
  }

  /**
   * Brings every stream up to the log (start-up, rebuilds): one scan, then per stream only the
   * commits past its position, many streams per transaction.
   */
  async catchUpAll(options: { onProgress?: (progress: CatchUpProgress) => void; segments?: number } = {}): Promise<CatchUpProgress> {
    const positions = new Map(
      (await this.#db.selectFrom('stream_positions').select(['stream_id', 'version']).execute()).map((r) => [r.stream_id, r.version]),
    );
    const pending = new Map<string, Commit[]>();
    let scanned = 0;
    for await (const page of this.#log.scan({ segments: options.segments ?? 4 })) {
      for (const commit of page) {
        if (commit.version <= (positions.get(commit.streamId) ?? 0)) continue;
        const list = pending.get(commit.streamId);
        if (list) list.push(commit);
        else pending.set(commit.streamId, [commit]);
      }
      scanned += page.length;
      options.onProgress?.({ scanned, streams: 0, streamsDone: 0, applied: 0 });
    }
    let applied = 0;
    const streams = [...pending.entries()];
    const perTransaction = 100;
    for (let start = 0; start < streams.length; start += perTransaction) {
      const batch = streams.slice(start, start + perTransaction);
      const reached = new Map<string, number>();
      applied += await this.#db.transaction().execute(async (trx) => {
        let events = 0;
        for (const [streamId, commits] of batch) events += await this.#applyStream(trx, streamId, commits, reached);
        return events;
      });
      this.#announce(reached);
      options.onProgress?.({ scanned, streams: streams.length, streamsDone: start + batch.length, applied });
    }
    return { scanned, streams: streams.length, streamsDone: streams.length, applied };
  }

  /** The last version of the stream applied to the projection (0 for none). */
  async position(streamId: string): Promise<number> {
    const row = await this.#db.selectFrom('stream_positions').select('version').where('stream_id', '=', streamId).executeTakeFirst();
    return row?.version ?? 0;
  }

  #announce(reached: ReadonlyMap<string, number>): void {
    for (const [streamId, version] of reached) for (const listener of this.#listeners) listener(streamId, version);
  }

  /**
   * Applies the commits past the stream's position; `reached` learns the position it ends at.
   * One span (SPEC §10), linked to the trace of each command that wrote a delivered commit: the
   * projection joins the trace that began with the HTTP request, wherever it is applied.
   */
  #applyStream(trx: Transaction<Database>, streamId: string, delivered: readonly Commit[], reached: Map<string, number>): Promise<number> {
    const links = delivered.map((commit) => linkTo(commit.traceparent, { 'commit.version': commit.version })).filter((link): link is Link => link !== undefined);
    return inSpan(
      'projector apply',
      { 'projection.stream_id': streamId, 'projection.commits_delivered': delivered.length },
      async (span) => {
        const events = await this.#applyStreamNow(trx, streamId, delivered, reached);
        span.setAttributes({ 'projection.events_applied': events, 'projection.position': reached.get(streamId) ?? 0 });
        return events;
      },
      { links },
    );
  }

  async #applyStreamNow(trx: Transaction<Database>, streamId: string, delivered: readonly Commit[], reached: Map<string, number>): Promise<number> {
    const stream = parseStreamId(streamId);
    if (!stream) return 0; // not a stream this read model knows
    await trx.insertInto('stream_positions').values({ stream_id: streamId, version: 0 }).onConflict((c) => c.column('stream_id').doNothing()).execute();
    const { version: position } = await trx
      .selectFrom('stream_positions')
      .select('version')
      .where('stream_id', '=', streamId)
      .forUpdate()
      .executeTakeFirstOrThrow();
    reached.set(streamId, position);
    let commits = [...delivered].filter((c) => c.version > position).sort((a, b) => a.version - b.version);
    if (commits.length === 0) return 0;
    if (!isContiguous(position, commits)) {
      // A gap: the log is the truth; read everything after our position from it.
      const fromLog = await this.#log.readStream(streamId, { fromVersion: position + 1 });
      const last = commits[commits.length - 1]!.version;
      commits = fromLog.filter((c) => c.version <= last);
      if (!isContiguous(position, commits)) throw new LogMismatchError(`stream ${streamId} has a gap after version ${position} in the log`);
      if (commits[commits.length - 1]?.version !== last) throw new LogMismatchError(`the log does not hold ${streamId} version ${last}`);
    }
    let events = 0;
    for (const commit of commits) {
      const unknown = commit.events.find((event) => !knownEventTypes[stream.kind].has(event.type));
      if (unknown) throw new UnknownEventTypeError(`${streamId} version ${commit.version} has an event of unknown type ${JSON.stringify(unknown.type.slice(0, 64))}`);
      if (stream.kind === 'GroupChat') await projectGroupChatCommit(trx, stream.id, commit);
      else await projectMessageCommit(trx, stream.id, commit);
      events += commit.events.length;
    }
    const last = commits[commits.length - 1]!.version;
    await trx.updateTable('stream_positions').set({ version: last }).where('stream_id', '=', streamId).execute();
    reached.set(streamId, last);
    return events;
  }
}

function isContiguous(position: number, commits: readonly Commit[]): boolean {
  return commits.every((commit, index) => commit.version === position + index + 1);
}
