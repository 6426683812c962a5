import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import t from 'tap';
import type { Test } from 'tap';
import { launch, prepareCompileCache } from './launch.ts';

/** A bundle folder: a chunk that records that it was evaluated, and a compile-cache folder left unreadable. */
async function bundleDir(t: Test) {
  const dir = await mkdtemp(join(tmpdir(), 'cqrs-launch-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const marker = `launchTest${Math.random().toString(36).slice(2)}`;
  await mkdir(join(dir, 'chunks'));
  await writeFile(join(dir, 'chunks', 'lazy-ABC.mjs'), `globalThis.${marker} = (globalThis.${marker} ?? 0) + 1;\n`);
  await writeFile(join(dir, 'chunks', 'lazy-ABC.mjs.map'), '{}');
  await mkdir(join(dir, 'compile-cache', 'v-test'), { recursive: true, mode: 0o700 });
  await writeFile(join(dir, 'compile-cache', 'v-test', 'entry'), 'cached', { mode: 0o600 });
  return { dir, url: pathToFileURL(`${dir}/`), evaluated: () => (globalThis as Record<string, unknown>)[marker] };
}

const service = () => {
  const calls: string[] = [];
  return { calls, load: async () => ({ start: async () => void calls.push('start') }) };
};

t.test('without the flag the service is loaded and started, and nothing else', async (t) => {
  const { url, evaluated } = await bundleDir(t);
  const { calls, load } = service();
  await launch(load, { bundleDir: url, argv: ['node', 'index.mjs'] });
  t.same(calls, ['start']);
  t.equal(evaluated(), undefined, 'the chunks it loads on first use are left alone');
});

t.test('with the flag (the image build) it loads every chunk, starts nothing and leaves the cache readable by all', async (t) => {
  const { dir, url, evaluated } = await bundleDir(t);
  const { calls, load } = service();
  await launch(load, { bundleDir: url, argv: ['node', 'index.mjs', prepareCompileCache] });
  t.same(calls, [], 'not started');
  t.equal(evaluated(), 1, 'the chunk was loaded once');
  t.equal((await stat(join(dir, 'compile-cache', 'v-test'))).mode & 0o777, 0o755);
  t.equal((await stat(join(dir, 'compile-cache', 'v-test', 'entry'))).mode & 0o777, 0o644);
});

t.test('a bundle without chunks or cache prepares without failing', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cqrs-launch-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const { calls, load } = service();
  await launch(load, { bundleDir: pathToFileURL(`${dir}/`), argv: [prepareCompileCache] });
  t.same(calls, []);
});
