import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { runBench } from './bench.ts';
import type { Row } from './bench.ts';

/** A smoke run of the benchmark harness with tiny sizes: every figure gets measured and reported. */
t.test('npm run bench -- --smoke', async (t) => {
  const out = await mkdtemp(join(tmpdir(), 'cqrs-bench-smoke-'));
  t.teardown(() => rm(out, { recursive: true, force: true }));
  const report = await runBench({ smoke: true, out });
  const figures = report.rows.map((r: Row) => r.figure);
  for (const expected of [/^build/, /^bundle size, command/, /^bundle size, query/, /^cold start, command/, /^cold start, query/, /^idle RSS.*command/, /^idle RSS.*query/, /^command latency.*concurrency 1 /, /^command latency.*concurrency 16/, /^query latency.*concurrency 1 /, /^query latency.*concurrency 16/, /^projection lag/, /^post message, chat with/, /^rebuild/]) {
    t.ok(figures.some((f) => expected.test(f)), `a row for ${expected}`);
  }
  for (const row of report.rows) {
    t.ok(Number.isFinite(row.ours) && row.ours > 0 && Number.isFinite(row.baseline) && row.baseline > 0 && Number.isFinite(row.ratio), `${row.figure}: ours, baseline and ratio`);
  }
  const markdown = await readFile(join(out, 'BENCHMARKS.md'), 'utf8');
  t.match(markdown, /\| figure \| ours \| baseline \| ratio \| budget \| verdict \|/);
  t.equal(markdown.split('\n').filter((line) => line.startsWith('| ') && !line.startsWith('| figure')).length, report.rows.length);
  const json = JSON.parse(await readFile(join(out, 'bench-results.json'), 'utf8')) as { rows: unknown[]; stores: Record<string, string> };
  t.equal(json.rows.length, report.rows.length);
  t.match(json.stores, { dynamodb: String, postgres: String });
});
