// @ts-check
import process from 'node:process';

/**
 * Mutation testing of the pure core (`npm run mutate`; not part of `npm test` or CI): the write
 * side's deciders (their states and rules live in the decider files) and the read side's row
 * folds. Each mutant is a small change to a rule (a flipped condition, a dropped branch, another
 * message); a test that fails on it kills it. StrykerJS 9 (10 needs Node 22) with its tap runner,
 * which runs each test file directly under node with tsx.
 *
 * `MUTATE=write npm run mutate` (or `read`) runs one side only, with only that side's tests.
 */

/**
 * What is mutated, and the tests that hold those rules. Keep these globs in step with where the
 * deciders and the folds live.
 */
const scopes = {
  write: {
    mutate: ['src/modules/command/decider.ts', 'src/modules/command/*/*.decider.ts'],
    testFiles: ['src/modules/command/*/*.decider.test.ts'],
  },
  read: {
    mutate: ['src/modules/projection/*/*.projection.ts', 'src/modules/projection/table-columns.ts'],
    testFiles: ['src/modules/projection/**/*.test.ts'],
  },
};
const chosen = process.env.MUTATE ? [scopes[/** @type {'write' | 'read'} */ (process.env.MUTATE)]] : Object.values(scopes);
if (chosen.includes(undefined)) throw new Error(`MUTATE is write or read, not ${process.env.MUTATE}`);

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'tap',
  plugins: ['@stryker-mutator/tap-runner'],
  mutate: chosen.flatMap((scope) => scope.mutate),
  tap: {
    testFiles: chosen.flatMap((scope) => scope.testFiles),
    // The same rule as `npm test`: a subtest that asserts nothing fails (src/testing/every-test-asserts.mjs).
    nodeArgs: ['--import', 'tsx', '--import', './src/testing/every-test-asserts.mjs'],
  },
  coverageAnalysis: 'perTest',
  concurrency: 2,
  timeoutMS: 60_000,
  reporters: ['clear-text', 'progress', 'html'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  thresholds: { high: 95, low: 90, break: null },
  tempDirName: '.stryker-tmp',
  ignorePatterns: ['dist', 'cdk.out', '.data', '.tap', 'coverage', 'reports', '.affected-out', 'infra/cdk.out'],
  cleanTempDir: 'always',
};
