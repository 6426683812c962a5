import type { Kysely } from 'kysely';
import { parseStreamId } from '../../contracts/streams.ts';
import type { StreamKind } from '../../contracts/streams.ts';
import type { Commit } from '../../eventstore/index.ts';
import { inSpan, linkTo } from '../../shared/tracing.ts';
import type { Link } from '../../shared/tracing.ts';
import type { Database } from './database.ts';
import { LogMismatchError, isUnavailable } from './projection-errors.ts';
import { readStreams } from './log-streams.ts';
import type { EventLog } from './log-streams.ts';
import { readModels, streamKinds } from './read-models.ts';
import type { ReadModel } from './read-models.ts';
import { inChunks } from './row-changes.ts';
import type { RowChange } from './row-changes.ts';


/** Told a stream's projected position (last applied version) after the projector reached it. */
export type PositionListener = (streamId: string, version: number) => void;

/** How one delivered commit ended. */
export type Applied =
  /** It is in the projection now; `events` counts its events and those of any gap read before it. */
  | { readonly outcome: 'applied'; readonly events: number }
  /** The projection held it already (a duplicate, a retried delivery). */
  | { readonly outcome: 'already-applied' }
  /** Its stream is of no kind this read model projects. */
  | { readonly outcome: 'not-projected' }
  /** It cannot be applied as it is (a version the log lacks, an unknown event type, a row the database refuses). */
  | { readonly outcome: 'failed'; readonly error: Error };

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

/** A stream a catch-up could not bring up to the log, and why. */
export interface StreamFailure {
  readonly streamId: string;
  readonly error: Error;
}

interface StreamWork {
  readonly streamId: string;
  readonly kind: StreamKind;
  readonly id: string;
  /** Its commits as delivered, in delivery order, with their place in the batch. */
  readonly deliveries: readonly { readonly commit: Commit; readonly index: number }[];
}

interface Run {
  readonly outcomes: ReadonlyMap<number, Applied>;
  readonly reached: ReadonlyMap<string, number>;
}

const alreadyApplied: Applied = { outcome: 'already-applied' };
const notProjected: Applied = { outcome: 'not-projected' };
const failed = (error: unknown): Applied => ({ outcome: 'failed', error: error instanceof Error ? error : new Error(String(error)) });

/** Deadlock and serialization failures: the transaction lost a race, and may simply run again. */
const retryable = new Set(['40P01', '40001']);
const streamsPerCatchUpTransaction = 500;
/** Streams read from the log at once by a catch-up of many. */
const logReadsAtOnce = 8;

/**
 * Applies commits to the projection tables exactly once in effect (ARCHITECTURE.md, the read side).
 * Any number of commits of any number of streams go through one transaction: the streams' positions
 * (last applied versions) are locked and read, their rows read, each stream's commits folded by its
 * read model's projection (the pure fold, the only statement of its rules), and the rows that
 * changed written with the new positions, a few statements for the whole batch. A duplicate is
 * skipped; a commit that arrives ahead of its predecessors has the missing ones read from the event
 * log first. Any delivery order gives the same rows.
 *
 * One commit that cannot be applied never holds back the others: it fails on its own (and its
 * stream's later commits with it), and a row the database refuses is found by applying the
 * batch's streams apart. A store that cannot be reached fails the whole call.
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

  /**
   * Applies delivered commits (and any gap before them), in one transaction when nothing fails.
   * Returns how each ended, in the order given; throws only when a store cannot be reached.
   */
  async applyBatch(commits: readonly Commit[]): Promise<Applied[]> {
    const results: Applied[] = commits.map(() => notProjected);
    const streams = new Map<string, { streamId: string; kind: StreamKind; id: string; deliveries: { commit: Commit; index: number }[] }>();
    commits.forEach((commit, index) => {
      const stream = parseStreamId(commit.streamId);
      if (!stream) return;
      let work = streams.get(commit.streamId);
      if (!work) streams.set(commit.streamId, (work = { streamId: commit.streamId, ...stream, deliveries: [] }));
      work.deliveries.push({ commit, index });
    });
    const { outcomes } = await this.#apply([...streams.values()]);
    for (const [index, outcome] of outcomes) results[index] = outcome;
    return results;
  }

  /** Applies one delivered commit (and any gap before it). Returns the events applied; throws why it failed. */
  async apply(commit: Commit): Promise<number> {
    const [result] = await this.applyBatch([commit]);
    if (result!.outcome === 'failed') throw result!.error;
    return result!.outcome === 'applied' ? result!.events : 0;
  }

  /**
   * Brings one stream up to what the log holds now. Returns the stream's position afterwards;
   * throws why a commit failed (what came before it is applied).
   */
  async catchUp(streamId: string): Promise<number> {
    const position = await this.position(streamId);
    const commits = await this.#log.readStream(streamId, { fromVersion: position + 1 });
    if (commits.length === 0) {
      this.#announce(new Map([[streamId, position]]));
      return position;
    }
    const failure = (await this.applyBatch(commits)).find((result) => result.outcome === 'failed');
    if (failure) throw failure.error;
    return commits[commits.length - 1]!.version;
  }

  /**
   * Brings every stream up to the log (start-up, retries after an outage): one scan, then per
   * stream only the commits past its position, many streams per transaction. Streams that fail
   * are reported; the others go on.
   */
  async catchUpAll(
    options: { onProgress?: (progress: CatchUpProgress) => void; segments?: number } = {},
  ): Promise<CatchUpProgress & { readonly failed: readonly StreamFailure[] }> {
    const positions = new Map(
      (await this.#db.selectFrom('stream_positions').select(['stream_id', 'version']).execute()).map((r) => [r.stream_id, r.version]),
    );
    const { streams, scanned } = await readStreams(this.#log, {
      ...(options.segments === undefined ? {} : { segments: options.segments }),
      keep: (commit) => commit.version > (positions.get(commit.streamId) ?? 0),
      onPage: (scanned) => options.onProgress?.({ scanned, streams: 0, streamsDone: 0, applied: 0 }),
    });
    const pending = [...streams.values()];
    let applied = 0;
    const failures: StreamFailure[] = [];
    for (let start = 0; start < pending.length; start += streamsPerCatchUpTransaction) {
      const commits = pending.slice(start, start + streamsPerCatchUpTransaction).flat();
      const results = await this.applyBatch(commits);
      const failedStreams = new Map<string, Error>();
      results.forEach((result, index) => {
        if (result.outcome === 'applied') applied += result.events;
        else if (result.outcome === 'failed' && !failedStreams.has(commits[index]!.streamId)) failedStreams.set(commits[index]!.streamId, result.error);
      });
      for (const [streamId, error] of failedStreams) failures.push({ streamId, error });
      options.onProgress?.({ scanned, streams: pending.length, streamsDone: Math.min(pending.length, start + streamsPerCatchUpTransaction), applied });
    }
    return { scanned, streams: pending.length, streamsDone: pending.length, applied, failed: failures };
  }

  /**
   * Brings these streams up to what the log holds now, many per transaction (retries after a
   * failure): their positions in one query, each one's newer commits from the log, then one
   * batch. Returns the streams that failed, and why; throws only when a store cannot be reached.
   */
  async catchUpStreams(streamIds: readonly string[]): Promise<StreamFailure[]> {
    const failures: StreamFailure[] = [];
    for (let start = 0; start < streamIds.length; start += streamsPerCatchUpTransaction) {
      const ids = streamIds.slice(start, start + streamsPerCatchUpTransaction);
      const positions = new Map(
        (await this.#db.selectFrom('stream_positions').select(['stream_id', 'version']).where('stream_id', 'in', ids).execute()).map((r) => [r.stream_id, r.version]),
      );
      const commits: Commit[] = [];
      const unread = [...ids];
      const readers = Array.from({ length: Math.min(logReadsAtOnce, unread.length) }, async () => {
        for (let streamId = unread.shift(); streamId !== undefined; streamId = unread.shift()) {
          try {
            commits.push(...(await this.#log.readStream(streamId, { fromVersion: (positions.get(streamId) ?? 0) + 1 })));
          } catch (error) {
            if (isUnavailable(error)) throw error;
            failures.push({ streamId, error: error instanceof Error ? error : new Error(String(error)) });
          }
        }
      });
      await Promise.all(readers);
      const results = await this.applyBatch(commits);
      const failed = new Set<string>();
      results.forEach((result, index) => {
        const { streamId } = commits[index]!;
        if (result.outcome === 'failed' && !failed.has(streamId)) {
          failed.add(streamId);
          failures.push({ streamId, error: result.error });
        }
      });
    }
    return failures;
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
   * Applies the streams in one transaction. When the database refuses something, the transaction
   * is lost as a whole: the streams are applied apart (and a stream's commits one by one) to
   * find the commit it belongs to, which alone fails.
   */
  async #apply(streams: readonly StreamWork[]): Promise<Run> {
    if (streams.length === 0) return { outcomes: new Map(), reached: new Map() };
    try {
      const run = await this.#transaction(streams);
      this.#announce(run.reached);
      return run;
    } catch (error) {
      if (isUnavailable(error)) throw error;
      const pieces: StreamWork[] =
        streams.length > 1 ? [...streams] : streams[0]!.deliveries.length > 1 ? streams[0]!.deliveries.map((delivery) => ({ ...streams[0]!, deliveries: [delivery] })) : [];
      if (pieces.length === 0) return { outcomes: new Map([[streams[0]!.deliveries[0]!.index, failed(error)]]), reached: new Map() };
      const outcomes = new Map<number, Applied>();
      const reached = new Map<string, number>();
      for (const piece of pieces) {
        const run = await this.#apply([piece]);
        for (const [index, outcome] of run.outcomes) outcomes.set(index, outcome);
        for (const [streamId, version] of run.reached) reached.set(streamId, version);
      }
      return { outcomes, reached };
    }
  }

  /**
   * One span per transaction, linked to the trace of each command that wrote a
   * delivered commit: the projection joins the trace that began with the HTTP request, wherever
   * the commit is applied (in process, or in the projector function fed by the stream).
   */
  #transaction(streams: readonly StreamWork[], attempt = 1): Promise<Run> {
    const deliveries = streams.flatMap((stream) => stream.deliveries);
    const links = deliveries
      .map(({ commit }) => linkTo(commit.traceparent, { 'commit.stream_id': commit.streamId, 'commit.version': commit.version }))
      .filter((link): link is Link => link !== undefined);
    const attributes = { 'projection.stream_ids': streams.map((stream) => stream.streamId).slice(0, 100), 'projection.commits_delivered': deliveries.length, 'projection.attempt': attempt };
    return inSpan(
      'projector apply',
      attributes,
      async (span) => {
        const run = await this.#transactionOnce(streams, attempt);
        let events = 0;
        for (const outcome of run.outcomes.values()) if (outcome.outcome === 'applied') events += outcome.events;
        span.setAttribute('projection.events_applied', events);
        return run;
      },
      { links },
    );
  }

  async #transactionOnce(streams: readonly StreamWork[], attempt: number): Promise<Run> {
    try {
      return await this.#db.transaction().execute(async (trx) => {
        // One statement locks every stream's position row (made at 0 when new) and reads it:
        // the no-op update takes the row lock. Rows go in stream id order, the same for every
        // projector, so two batches never wait on each other in a cycle.
        const ids = streams.map((stream) => stream.streamId).sort();
        const positions = new Map<string, number>();
        await inChunks(ids, async (chunk) => {
          const rows = await trx
            .insertInto('stream_positions')
            .values(chunk.map((streamId) => ({ stream_id: streamId, version: 0 })))
            .onConflict((c) => c.column('stream_id').doUpdateSet((eb) => ({ version: eb.ref('stream_positions.version') })))
            .returning(['stream_id', 'version'])
            .execute();
          for (const row of rows) positions.set(row.stream_id, row.version);
        });

        const outcomes = new Map<number, Applied>();
        const reached = new Map<string, number>();
        const moved: { stream_id: string; version: number }[] = [];
        for (const kind of streamKinds) {
          const model = readModels[kind];
          const ofKind = streams.filter((stream) => stream.kind === kind);
          if (ofKind.length === 0) continue;
          // Only a stream with a position has rows.
          const before = await model.load(
            trx,
            ofKind.filter((stream) => positions.get(stream.streamId)! > 0).map((stream) => stream.id),
          );
          const changes: RowChange<unknown>[] = [];
          for (const stream of ofKind) {
            const start = positions.get(stream.streamId)!;
            const rows = before.get(stream.id) ?? model.empty;
            const folded = await this.#fold(stream, start, rows, model, outcomes);
            reached.set(stream.streamId, folded.position);
            if (folded.position === start) continue;
            changes.push({ before: rows, after: folded.rows });
            moved.push({ stream_id: stream.streamId, version: folded.position });
          }
          await model.save(trx, changes);
        }
        await inChunks(moved, (chunk) =>
          trx
            .insertInto('stream_positions')
            .values(chunk)
            .onConflict((c) => c.column('stream_id').doUpdateSet((eb) => ({ version: eb.ref('excluded.version') })))
            .execute(),
        );
        return { outcomes, reached };
      });
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (typeof code === 'string' && retryable.has(code) && attempt < 3) return this.#transaction(streams, attempt + 1);
      throw error;
    }
  }

  /**
   * Folds one stream's deliveries onto its rows, in delivery order, as if each were applied on
   * its own: a version at or below the position is already applied; one further on needs every
   * commit between, delivered or else read from the log (which is the truth); a delivery that
   * cannot be applied fails alone and leaves the rows and the position as they were.
   */
  async #fold(stream: StreamWork, start: number, rows: unknown, model: ReadModel<unknown>, outcomes: Map<number, Applied>): Promise<{ rows: unknown; position: number }> {
    let position = start;
    const delivered = new Map<number, Commit>();
    for (const { commit } of stream.deliveries) if (!delivered.has(commit.version)) delivered.set(commit.version, commit);
    let fromLog: Map<number, Commit> | Error | undefined;
    for (const { commit, index } of stream.deliveries) {
      if (commit.version <= position) {
        outcomes.set(index, alreadyApplied);
        continue;
      }
      let source: ReadonlyMap<number, Commit> = delivered;
      if (!holdsAll(delivered, position, commit.version)) {
        fromLog ??= await this.#readLog(stream.streamId, start);
        if (fromLog instanceof Error) {
          outcomes.set(index, failed(fromLog));
          continue;
        }
        source = fromLog;
      }
      const needed: Commit[] = [];
      for (let version = position + 1; version <= commit.version; version++) {
        const next = source.get(version);
        if (!next) break;
        needed.push(next);
      }
      if (needed.length !== commit.version - position) {
        const missing = position + needed.length + 1;
        outcomes.set(index, failed(new LogMismatchError(`${stream.streamId} version ${commit.version} cannot be applied: the log does not hold version ${missing}`)));
        continue;
      }
      let next: unknown;
      try {
        next = needed.reduce((acc, each) => model.project(acc, stream.id, each), rows);
      } catch (error) {
        outcomes.set(index, failed(error));
        continue;
      }
      rows = next;
      position = commit.version;
      outcomes.set(index, { outcome: 'applied', events: needed.reduce((sum, each) => sum + each.events.length, 0) });
    }
    return { rows, position };
  }

  /** The stream's commits after `position` as the log holds them; a failure that is not an outage fails the deliveries that needed them. */
  async #readLog(streamId: string, position: number): Promise<Map<number, Commit> | Error> {
    try {
      return new Map((await this.#log.readStream(streamId, { fromVersion: position + 1 })).map((commit) => [commit.version, commit]));
    } catch (error) {
      if (isUnavailable(error)) throw error;
      return error instanceof Error ? error : new Error(String(error));
    }
  }
}

/** Whether `commits` holds every version after `position` up to `version`. */
function holdsAll(commits: ReadonlyMap<number, Commit>, position: number, version: number): boolean {
  if (version - position > commits.size) return false;
  for (let v = position + 1; v <= version; v++) if (!commits.has(v)) return false;
  return true;
}
