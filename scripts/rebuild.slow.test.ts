import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { childEnv } from '../src/testing/child-env.ts';
import { runToEnd } from '../src/testing/run-to-end.ts';

const rebuild = (dataDir: string) =>
  runToEnd(process.execPath, ['--import', 'tsx', 'scripts/rebuild.ts'], { env: childEnv({ DATA_DIR: dataDir }) });

t.test('npm run rebuild on the embedded stores', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'cqrs-rebuild-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const done = await rebuild(dataDir);
  t.equal(done.status, 0, done.stderr);
  t.match(done.stdout, /rebuilt projections from 0 commits: 0 events applied/);

  // a running server holds the folder: the rebuild says so instead of failing obscurely
  await writeFile(join(dataDir, 'server.pid'), String(process.pid));
  const refused = await rebuild(dataDir);
  t.equal(refused.status, 1);
  t.match(refused.stderr, /rebuild failed: .* is in use by another running server/);
});
