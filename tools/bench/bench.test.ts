import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { parseArgs, runBench } from './bench.ts';
import type { Report, Row } from './bench.ts';
import { notesMarker } from './report.ts';

/**
 * A smoke run of the benchmark harness with tiny sizes: every figure of docs/budgets.md gets a row,
 * each measured row has ours, baseline and ratio, each unmeasured one says why, and both files are
 * written. The numbers themselves mean nothing here and are never asserted.
 */
t.test('npm run bench -- --smoke', async (t) => {
  const out = await mkdtemp(join(tmpdir(), 'cqrs-bench-smoke-'));
  t.teardown(() => rm(out, { recursive: true, force: true }));
  await writeFile(join(out, 'BENCHMARKS.md'), `# old\n\n${notesMarker}\nHand-written analysis.\n`);
  const progress: string[] = [];
  const report = await runBench({ smoke: true, out, log: (line) => progress.push(line) });
  const rows = report.rows;
  const figures = rows.map((r: Row) => r.figure);
  const node22 = report.machine.imageNode;
  t.comment(`images' Node: ${node22}`);
  const expected = [
    /^build, all \d bundles/,
    /^bundle size, command/,
    /^bundle size, query/,
    /^cold start → health 200, command, Node /,
    /^cold start → health 200, query, Node /,
    /^idle RSS after start, command, Node /,
    /^idle RSS after start, query, Node /,
    /^cold first request, command \(create a chat\), Node /,
    /^cold first request, query \(read a page of messages\), Node /,
    /^cold first request, \w+ \(POST \/events, 1 record\), Node /,
    /^stream → projector, POST \/events with 100-record batches/,
    /^projection lag, npm start, idle/,
    /^projection lag, npm start, \d+ concurrent writers/,
    /^time to full visibility after the load/,
    /^npm start RSS peak/,
    /^npm start RSS after the load/,
    /^query latency under mixed load/,
    /^command latency.*concurrency 1 /,
    /^command latency.*concurrency 16/,
    /^query latency, 50 messages, concurrency 1 /,
    /^query latency, 50 messages, concurrency 16/,
    /^post message, chat with/,
    /^rebuild/,
    /^tracing on vs off: cold start → health 200, command/,
    /^tracing on vs off: command latency/,
  ];
  for (const pattern of expected) t.ok(figures.some((f) => pattern.test(f)), `a row for ${pattern}`);
  if (report.raw.runtimes && (report.raw.runtimes as { image: string | null }).image) {
    t.ok(figures.some((f) => /^cold start → health 200, command, Node 22\./.test(f)), 'cold start measured under Node 22');
  } else {
    t.comment('SKIP Node 22 rows: the images\' Node is not cached here (a full `npm run bench` fetches it, or set BENCH_NODE22)');
  }
  for (const row of rows) {
    if (row.verdict === 'not measured') {
      t.ok(row.ours === null && /^not measured: ./.test(row.note ?? ''), `${row.figure}: not measured, and why`);
      continue;
    }
    t.ok(Number.isFinite(row.ours) && row.ours! >= 0 && Number.isFinite(row.baseline) && row.baseline! > 0 && Number.isFinite(row.ratio), `${row.figure}: ours, baseline and ratio`);
    t.ok(['within', 'over', 'info'].includes(row.verdict), `${row.figure}: a verdict`);
  }
  for (const row of rows.filter((r) => ['cold-start', 'first-request', 'rss'].includes(r.group) && r.verdict !== 'not measured')) {
    t.match(row.spread, /n = \d+/, `${row.figure}: spread with the number of samples`);
  }
  t.notOk(
    rows.some((r) => r.verdict === 'over' && r.ours === null),
    'no figure failed outright (e.g. acknowledged posts that never became visible)',
  );
  if (!process.env.DATABASE_URL) {
    t.ok(rows.some((r) => r.verdict === 'not measured' && /DATABASE_URL/.test(r.note ?? '')), 'without DATABASE_URL, the Postgres-only figures say so');
  }
  t.ok(progress.some((line) => /round \d+ of \d+/.test(line)), 'progress names the round, n of N');
  t.ok(progress.some((line) => /^== \d+ of \d+: /.test(line)), 'progress names the figure, n of N');

  const markdown = await readFile(join(out, 'BENCHMARKS.md'), 'utf8');
  t.match(markdown, /\| figure \| ours \| baseline \| ratio \| budget \| verdict \| spread \| notes \|/);
  const lines = markdown.split('\n');
  const header = lines.findIndex((line) => line.startsWith('| figure |'));
  const table = lines.slice(header + 2, lines.indexOf('', header));
  t.equal(table.length, rows.length, 'one table line per row');
  t.match(markdown, `${notesMarker}\nHand-written analysis.\n`, 'the analysis below the marker survives');
  const json = JSON.parse(await readFile(join(out, 'bench-results.json'), 'utf8')) as Report;
  t.equal(json.rows.length, rows.length);
  t.match(json.stores, { 'Event log': String, Projections: String });
});

t.test('--only keeps the other groups\' rows from the previous results', async (t) => {
  const out = await mkdtemp(join(tmpdir(), 'cqrs-bench-only-'));
  t.teardown(() => rm(out, { recursive: true, force: true }));
  const previous: Partial<Report> = {
    generatedAt: '2026-01-01T00:00:00.000Z',
    smoke: false,
    rows: [{ group: 'rebuild', figure: 'rebuild, 1 events into Postgres (events/s)', ours: 1, baseline: 2, unit: 'events/s', ratio: 0.5, budget: '≥ 5,000 events/s', verdict: 'over' }],
    raw: { rebuild: 'kept' },
  };
  await writeFile(join(out, 'bench-results.json'), JSON.stringify(previous));
  const report = await runBench({ out, only: ['tracing'], rounds: 1, download: false, log: () => undefined });
  t.same(
    [...new Set(report.rows.map((r) => r.group))],
    ['rebuild', 'tracing'],
    'the measured group, and the carried-over one, in report order',
  );
  t.equal(report.carriedFrom, '2026-01-01T00:00:00.000Z');
  t.match(await readFile(join(out, 'BENCHMARKS.md'), 'utf8'), /carried over from 2026-01-01/);
});

t.test('command line', async (t) => {
  t.same(parseArgs(['--only', 'cold-start,events', '--soak-seconds', '480']), { smoke: false, only: ['cold-start', 'events'], soakSeconds: 480 });
  t.equal(parseArgs(['--help']), 'help');
  t.throws(() => parseArgs(['--only', 'cold-start,nonsense']), /unknown group nonsense/);
  t.throws(() => parseArgs(['--soak-seconds', 'soon']), /positive number/);
  t.throws(() => parseArgs(['--fast']), /unknown option --fast/);
});
