import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The context the CDK CLI gives the app from the project's files (cdk.json's `context`, then
 * cdk.context.json), for code that builds the app in process (tests, `npm run affected`) and
 * must see the same feature flags and settings as `cdk synth`. Values passed with `-c` win.
 */
export function projectContext(root: string, overrides: Record<string, string> = {}): Record<string, unknown> {
  const read = (file: string): Record<string, unknown> => {
    try {
      return JSON.parse(readFileSync(join(root, file), 'utf8')) as Record<string, unknown>;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw new Error(`cannot read ${file}: ${(error as Error).message}`, { cause: error });
    }
  };
  const cdkJson = read('cdk.json') as { context?: Record<string, unknown> };
  return { ...(cdkJson.context ?? {}), ...read('cdk.context.json'), ...overrides };
}
