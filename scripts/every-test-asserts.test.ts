import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';

/**
 * The suite's rule that every subtest asserts (src/testing/every-test-asserts.mjs, loaded by
 * .taprc into every test process): a subtest that calls its parent's assertions, and so prints
 * `1..0` under its own name, fails; skips, todos and plans of 0 with a reason do not.
 */
t.test('a subtest that asserts nothing under its own name fails the run', async (t) => {
  const dir = await mkdtemp(join(process.cwd(), '.every-test-asserts-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'fixture.test.mjs');
  await writeFile(
    file,
    `import t from 'tap';
t.test('parent', async (t) => {
  t.test('empty child', async () => { t.ok(true, 'asserted on the parent'); });
  t.test('asserting child', async (t) => { t.ok(true); });
  t.test('skipped child', { skip: 'not here' }, async () => {});
  t.test('todo child', { todo: true }, async () => {});
  t.test('nothing to do', async (t) => { t.plan(0, 'no cases on this platform'); });
});
`,
  );
  // The file alone under node, with the rule loaded exactly as .taprc loads it: the TAP it prints
  // and its exit code are what the runner would read.
  const run = await promisify(execFile)(process.execPath, ['--import=./src/testing/every-test-asserts.mjs', file]).then(
    (done) => ({ code: 0, stdout: done.stdout }),
    (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
  );
  t.not(run.code, 0, 'the run fails');
  t.match(run.stdout, /not ok 1 - this test asserts nothing/);
  t.match(run.stdout, /not ok 1 - empty child/);
  t.match(run.stdout, /ok 3 - asserting child/);
  t.match(run.stdout, /ok 4 - skipped child # SKIP not here/);
  t.match(run.stdout, /ok 5 - todo child # TODO/);
  t.match(run.stdout, /ok 6 - nothing to do # SKIP no cases on this platform/);
});
