import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import t from 'tap';
import { bundles, imageLaunch, withScript } from './images.ts';
import type { BundleSpec } from './images.ts';

const spec = (service: string, dockerfile: string, command?: string[]): BundleSpec =>
  ({ service, dockerfile, health: '/health', firstRequest: 'events', sizeBudgetBytes: 1, ...(command ? { command } : {}) }) as unknown as BundleSpec;

t.test('every bundle the bench measures is what its image runs', async (t) => {
  for (const bundle of bundles) {
    const launch = await imageLaunch(bundle, '/dist');
    t.equal(launch.args[launch.scriptIndex], resolve('/dist', bundle.service, 'index.mjs'), `${bundle.service}: ${bundle.dockerfile} runs dist/${bundle.service}/index.mjs`);
    t.equal(launch.env.NODE_ENV, 'production', `${bundle.service}: the image's ENV`);
  }
});

t.test('an image of several bundles: each function\'s command picks its bundle', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'cqrs-images-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  await writeFile(
    join(root, 'Dockerfile.query'),
    [
      'FROM node:22-slim',
      'ENV NODE_ENV=production PORT=8080',
      'WORKDIR /app',
      'COPY dist/query/ /app/query/',
      'COPY dist/projector/ /app/projector/',
      'ENTRYPOINT ["node", "--max-old-space-size=200"]',
      'CMD ["/app/query/index.mjs"]',
      '',
    ].join('\n'),
  );
  const query = await imageLaunch(spec('query', 'Dockerfile.query'), '/dist', root);
  t.same(query.args, ['--max-old-space-size=200', '/dist/query/index.mjs'], 'the image\'s CMD, mapped onto dist/');
  t.equal(query.scriptIndex, 1);
  const projector = await imageLaunch(spec('projector', 'Dockerfile.query', ['/app/projector/index.mjs']), '/dist', root);
  t.same(projector.args, ['--max-old-space-size=200', '/dist/projector/index.mjs'], 'the function\'s command in place of CMD');
  t.same(withScript(projector, '/baselines/bare.mjs').args, ['--max-old-space-size=200', '/baselines/bare.mjs'], 'a baseline keeps the flags');
  await t.rejects(imageLaunch(spec('projector', 'Dockerfile.query'), '/dist', root), /not dist\/projector\/index\.mjs: give the bundle's command/);
});

t.test('one bundle at the image root', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'cqrs-images-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  await writeFile(join(root, 'Dockerfile.command'), 'FROM node:22-slim\nWORKDIR /app\nCOPY dist/command/ /app/\nENTRYPOINT ["node", "/app/index.mjs"]\nCMD []\n');
  const launch = await imageLaunch(spec('command', 'Dockerfile.command'), '/dist', root);
  t.same(launch.args, ['/dist/command/index.mjs']);
  t.equal(launch.cwd, '/dist/command/', 'WORKDIR mapped too');
  await writeFile(join(root, 'Dockerfile.other'), 'FROM alpine\nENTRYPOINT ["/bin/sh"]\n');
  await t.rejects(imageLaunch(spec('command', 'Dockerfile.other'), '/dist', root), /does not start with node/);
});
