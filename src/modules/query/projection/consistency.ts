import { setTimeout as sleep } from 'node:timers/promises';
import type { StreamPosition } from '../../../contracts/consistency-token.ts';
import type { Projector } from './projector.ts';

/**
 * Read-your-writes (SPEC §5): resolves once the stream's projection reached the token's version.
 * When the projector is behind, this request catches the stream up from the log itself; it only
 * waits (polling) when the log does not hold that version yet. False after the deadline.
 */
export async function reachPosition(projector: Projector, target: StreamPosition, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (let round = 0; ; round++) {
    // The common case first: the projector already applied it (one indexed read).
    if ((await projector.position(target.streamId)) >= target.version) return true;
    if ((await projector.catchUp(target.streamId)) >= target.version) return true;
    const left = deadline - Date.now();
    if (left <= 0) return false;
    await sleep(Math.min(left, 25 * 2 ** Math.min(round, 3)));
  }
}
