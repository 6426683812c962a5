import type { Commit, EventStore } from '../../eventstore/index.ts';

/** What the projection reads of the event log: streams one by one, and a scan of all of them. */
export type EventLog = Pick<EventStore, 'readStream' | 'scan'>;

/**
 * Reads the whole log with one parallel scan and groups its commits by stream, in version order
 * (start-up catch-up, rebuild). `keep` leaves out commits the caller already has.
 */
export async function readStreams(
  log: EventLog,
  options: { segments?: number; keep?: (commit: Commit) => boolean; onPage?: (scanned: number) => void } = {},
): Promise<{ streams: Map<string, Commit[]>; scanned: number }> {
  const streams = new Map<string, Commit[]>();
  let scanned = 0;
  for await (const page of log.scan({ segments: options.segments ?? 4 })) {
    for (const commit of page) {
      if (options.keep && !options.keep(commit)) continue;
      const list = streams.get(commit.streamId);
      if (list) list.push(commit);
      else streams.set(commit.streamId, [commit]);
    }
    scanned += page.length;
    options.onPage?.(scanned);
  }
  for (const commits of streams.values()) commits.sort((a, b) => a.version - b.version);
  return { streams, scanned };
}
