// @ts-check
/**
 * Mutation testing of the pure core (`npm run mutate`; not part of `npm test` or CI): the write
 * side's deciders (their states and rules live in the decider files) and the read side's row
 * folds. Each mutant is a small change to a rule (a flipped condition, a dropped branch, another
 * message); a test that fails on it kills it. StrykerJS 9 (10 needs Node 22) with its tap runner,
 * which runs each test file directly under node with tsx.
 *
 * Narrow a run with `npm run mutate -- --mutate 'src/modules/command/**'`.
 */

/** What is mutated. Keep these globs in step with where the deciders and folds live. */
const writeSide = ['src/modules/command/decider.ts', 'src/modules/command/*/*.decider.ts'];
const readSideFolds = ['src/modules/query/*/*.projection.ts'];

/** The tests that hold those rules: decider specs, and the read side's projection tests. */
const testFiles = ['src/modules/command/*/*.decider.test.ts', 'src/modules/query/**/*.test.ts'];

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'tap',
  plugins: ['@stryker-mutator/tap-runner'],
  mutate: [...writeSide, ...readSideFolds],
  tap: {
    testFiles,
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
