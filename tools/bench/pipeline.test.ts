import { resolve } from 'node:path';
import t from 'tap';
import { pipelineFigures } from './pipeline.ts';

/**
 * One run of each timed pipeline step on a clone of HEAD: every row is measured, and the steps
 * did what they time (pipelineFigures throws when a step fails, or when the decide step of a tree
 * it had just recorded finds a change).
 */
t.test('the pipeline timings run every step once and measure each', async (t) => {
  const log: string[] = [];
  const rows = await pipelineFigures({ root: resolve(import.meta.dirname, '../..'), runs: 1, log: (line) => log.push(line) });
  t.ok(rows.length >= 8, `${rows.length} rows`);
  for (const row of rows) {
    t.equal(row.group, 'pipeline');
    t.ok(row.ours !== null && row.ours >= 0, `${row.figure}: measured (${row.ours} ${row.unit})`);
    t.match(row.spread, /^median of 1, /);
  }
  t.ok(log.includes('pipeline: a first build fills the build cache'), 'the cache was filled by a first build, then restored');
});
