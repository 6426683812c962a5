import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { loopFigures, tapCounts } from './loops.ts';
import type { Ran, Runner } from './loops.ts';

t.test("tap's closing summary gives the counts; the last one wins", async (t) => {
  t.same(tapCounts('# { total: 3, pass: 3 }\n'), { pass: 3, fail: 0 });
  t.same(tapCounts('# { total: 2981, pass: 2966, fail: 1, skip: 15 }\nmore\n# { total: 5, pass: 4, fail: 1 }\n'), { pass: 4, fail: 1 });
  t.equal(tapCounts('npm ERR! missing script: test\n'), undefined);
});

interface Call {
  readonly line: string;
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
}

/** Stands in for the commands: `git clone` and `npm ci` make the folders the real ones would. */
function recording(outcome: (line: string, cwd: string) => Partial<Ran>): { run: Runner; calls: Call[] } {
  const calls: Call[] = [];
  const run: Runner = async (command, args, { cwd, env }) => {
    const line = [command, ...args].join(' ');
    calls.push({ line, cwd, env });
    if (command === 'git') await mkdir(args.at(-1)!, { recursive: true });
    if (line.startsWith('npm ci')) await mkdir(join(cwd, 'node_modules', '.bin'), { recursive: true });
    return { ms: 1_000, code: 0, tail: '', ...outcome(line, cwd) };
  };
  return { run, calls };
}

const green = { tests: { pass: 10, fail: 0 } };

t.test('the loops on two clones: npm test never sees DATABASE_URL, test:all does when given one', async (t) => {
  const saved = process.env.DATABASE_URL;
  process.env.DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';
  t.teardown(() => (saved === undefined ? delete process.env.DATABASE_URL : (process.env.DATABASE_URL = saved)));
  const { run, calls } = recording((line) => (line.startsWith('npm test') || line.includes('test:all') ? green : {}));
  const log: string[] = [];
  const figures = await loopFigures({ root: '/repo', databaseUrl: 'postgres://postgres@127.0.0.1:5432/test', log: (line) => log.push(line), run });

  t.same(
    calls.map((call) => call.line),
    ['git clone -q /repo ' + calls[0]!.line.split(' ').at(-1), 'git clone -q /repo ' + calls[1]!.line.split(' ').at(-1), 'npm ci --no-audit --no-fund', 'npm test', 'npm test', 'npm test', 'npm run typecheck', 'npm run typecheck', 'npm run test:all'],
  );
  const tests = calls.filter((call) => call.line === 'npm test');
  t.equal(new Set(tests.slice(1).map((call) => call.cwd)).size, 2, 'the pair runs in two clones');
  for (const call of tests) t.equal(call.env.DATABASE_URL, undefined, 'npm test runs as the README gives it, without a database');
  t.equal(calls.at(-1)!.env.DATABASE_URL, 'postgres://postgres@127.0.0.1:5432/test', 'test:all gets the real Postgres');
  t.ok(figures.rows.every((row) => row.group === 'loops' && row.unit === 's'));
  t.same(
    figures.rows.map((row) => row.verdict),
    ['info', 'within', 'within', 'within', 'within', 'within'],
  );
  t.ok(log.includes('loops: npm test, two at once'), 'progress names each step');
});

t.test('a failing run, or one past the budget, is over, and says what it counted', async (t) => {
  const { run } = recording((line, cwd) => {
    if (line === 'npm test' && cwd.endsWith('b')) return { tests: { pass: 9, fail: 1 } };
    if (line === 'npm test') return { ...green, ms: 150_000 };
    if (line.includes('test:all')) return { code: 1, tail: 'boom' };
    return {};
  });
  const { rows } = await loopFigures({ root: '/repo', log: () => undefined, run });
  const byFigure = new Map(rows.map((row) => [row.figure, row]));
  t.equal(byFigure.get('npm test (fast tier), alone')?.verdict, 'over', 'past 120 s');
  const pair = byFigure.get('npm test, two at once (the slower of the two)');
  t.equal(pair?.verdict, 'over', 'one of the pair failed');
  t.match(pair?.note, /9 passed, 1 failed/);
  const all = byFigure.get('npm run test:all');
  t.equal(all?.verdict, 'over');
  t.match(all?.note, /without DATABASE_URL.*exit 1, no tap summary/);
});

t.test('a failed install stops the loops with its output', async (t) => {
  const { run } = recording((line) => (line.startsWith('npm ci') ? { code: 1, tail: 'ERESOLVE' } : {}));
  await t.rejects(loopFigures({ root: '/repo', log: () => undefined, run }), /npm ci failed: ERESOLVE/);
});
