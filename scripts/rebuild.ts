/**
 * `npm run rebuild`: drops and rebuilds every projection from the event log, with a progress bar.
 * With real stores (DATABASE_URL and DYNAMODB_ENDPOINT) it is safe while the service runs; with
 * the embedded ones it needs the service stopped, because only one process can open them.
 */
import { SingleBar, Presets } from 'cli-progress';
import Validate from '@hapi/validate';
import pino from 'pino';
import { localStoreSettings, openLocalStores } from '../src/entry/local-stores.ts';
import type { LocalStoreConfig } from '../src/entry/local-stores.ts';
import { rebuildProjections } from '../src/modules/projection/index.ts';
import { readConfig } from '../src/shared/config.ts';
import { createLogger } from '../src/shared/logging.ts';

const config = readConfig<LocalStoreConfig & { SCAN_SEGMENTS: number }>(
  { ...localStoreSettings, SCAN_SEGMENTS: Validate.number().integer().min(1).max(64).default(4) },
  process.env,
);
const logger = createLogger({ level: 'warn', destination: pino.destination(2) });

async function main() {
  // Bulk statements, and the swap waiting for the live projector's transactions: not a request's bound.
  const stores = await openLocalStores(config, logger, { queryTimeoutMs: 10 * 60_000 });
  const started = Date.now();
  const bar = new SingleBar(
    { format: ' {phase} |{bar}| {value}/{total} {unit}', hideCursor: true, noTTYOutput: true, notTTYSchedule: 1_000 },
    Presets.shades_classic,
  );
  let phase: 'reading' | 'applying' | undefined;
  try {
    const result = await rebuildProjections(stores.database, stores.eventStore, {
      segments: config.SCAN_SEGMENTS,
      onProgress: (progress) => {
        if (progress.streams === 0) {
          if (phase !== 'reading') {
            phase = 'reading';
            bar.start(Math.max(progress.scanned, 1), 0, { phase: 'reading log ', unit: 'commits' });
          }
          bar.setTotal(Math.max(progress.scanned, 1));
          bar.update(progress.scanned);
        } else {
          if (phase !== 'applying') {
            bar.stop();
            phase = 'applying';
            bar.start(progress.streams, 0, { phase: 'projecting ', unit: 'streams' });
          }
          bar.update(progress.streamsDone);
        }
      },
    });
    bar.stop();
    const seconds = (Date.now() - started) / 1000;
    console.log(
      `rebuilt projections from ${result.commits} commits: ${result.events} events applied in ${seconds.toFixed(1)} s` +
        ` (${Math.round(result.events / Math.max(seconds, 0.001))} events/s)` +
        (result.caughtUpAfterSwap > 0 ? `; ${result.caughtUpAfterSwap} streams written meanwhile caught up` : ''),
    );
  } finally {
    bar.stop();
    await stores.close();
  }
}

main().catch((error: unknown) => {
  console.error(`rebuild failed: ${(error as Error).message}`);
  process.exit(1);
});
