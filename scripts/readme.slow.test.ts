import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { childEnv } from '../src/testing/child-env.ts';
import { startLocal } from '../src/testing/local-process.ts';

/**
 * The README's walkthrough ("Try it with curl") runs as written, block after block in one shell,
 * against `npm start`'s entry on a free port: a README example can never drift from the service.
 * Every curl must get a 2xx (`--fail-with-body`), so an example that answers 4xx fails here.
 */

const readmeUrl = 'http://127.0.0.1:3001';

/** The ```sh blocks of a README section, dedented (list items indent theirs). */
function shellBlocks(markdown: string, heading: string): string[] {
  const start = markdown.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`no section ${heading}`);
  const end = markdown.indexOf('\n## ', start + heading.length + 2);
  const section = markdown.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/^( *)```sh\n([\s\S]*?)^\1```$/gm)].map(([, indent, body]) =>
    body!
      .split('\n')
      .map((line) => line.slice(indent!.length))
      .join('\n'),
  );
}

t.test('the curl walkthrough runs against npm start as written', async (t) => {
  const readme = await readFile('README.md', 'utf8');
  const blocks = shellBlocks(readme, '## Try it with curl');
  t.ok(blocks.length >= 3, 'commands, queries and the retry example');
  t.ok(blocks.every((block) => block.includes(readmeUrl) || block.includes('$API') || block.includes('$Q')), 'every block talks to the service');

  const dataDir = await mkdtemp(join(tmpdir(), 'cqrs-readme-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const env = { JWT_SECRET: 'readme-walkthrough-secret' };
  const server = await startLocal(dataDir, env);
  t.teardown(async () => {
    server.child.kill('SIGTERM');
    await server.exited;
  });

  const script = [
    'set -euo pipefail',
    // Any 4xx or 5xx fails the walkthrough, with the answer's body in the output.
    'curl() { command curl --fail-with-body --show-error "$@"; }',
    ...blocks,
  ]
    .join('\n')
    .replaceAll(readmeUrl, server.url);
  const run = await promisify(execFile)('bash', ['-c', script], { env: childEnv(env), maxBuffer: 16 * 1024 * 1024 }).catch(
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
  t.equal('code' in run ? run.code : 0, 0, `the walkthrough exits 0\n${run.stderr}\n${run.stdout}`);
  t.match(run.stdout, /Command Server Working!/);
  t.match(run.stdout, /Query Running/);
  t.match(run.stdout, /"name":"Book club"/, 'the queries see the chat');
  t.match(run.stdout, /\{"messageId":"[0-9a-f-]{36}","version":1,"token":"[^"]+"\}\s*$/, 'the retried post answers like the first');
});

t.test('a failing example fails the walkthrough', async (t) => {
  const blocks = shellBlocks('# x\n## Try it with curl\n\n  ```sh\n  echo one\n  ```\n\n```sh\necho two\n```\n## Next\n```sh\necho three\n```\n', '## Try it with curl');
  t.same(blocks, ['echo one\n', 'echo two\n'], 'only the section, dedented');
  const failed = await promisify(execFile)('bash', ['-c', 'set -euo pipefail\ncurl() { command curl --fail-with-body --show-error "$@"; }\nX=$(curl -s http://127.0.0.1:9/ | cat)\necho reached']).catch(
    (error: { code: number; stdout: string }) => error,
  );
  t.not('code' in failed ? failed.code : 0, 0);
  t.notMatch(failed.stdout, /reached/, 'the script stops at the failing request');
});
