/**
 * The environment for a server a test spawns: the parent's, without the test runner's loader
 * and coverage hooks, so the child runs as it would in production and its coverage (compiled by
 * another loader) does not get merged into the test's.
 */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(_?TAPJS|TAP_|NODE_V8_COVERAGE$|NODE_OPTIONS$)/.test(key)) continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}
