// Tests that spawn a server or script measure behaviour end to end; the child runs outside the
// test process, and its coverage would garble the merged report. They cover nothing.
const spawning = [/(^|\/)src\/entry\/(local|local-tracing|images)\.slow\.test\.ts$/, /(^|\/)(scripts|tools)\/.+\.test\.ts$/, /(^|\/)infra\/pipelines\.test\.ts$/];

export default function coverageMap(testFile) {
  return spawning.some((pattern) => pattern.test(testFile)) ? null : [];
}
