import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { buildService } from './build.ts';
import type { BuiltService } from './build.ts';

/** SPEC §6: each bundle holds its own module and nothing of the other, nor what it does not need. */
let outRoot: string;
let command: BuiltService;
let query: BuiltService;

t.before(async () => {
  outRoot = await mkdtemp(join(tmpdir(), 'cqrs-build-'));
  [command, query] = await Promise.all([buildService('command', outRoot), buildService('query', outRoot)]);
});
t.teardown(() => rm(outRoot, { recursive: true, force: true }));

const inputsOf = (built: BuiltService) => Object.keys(built.metafile.inputs);
const packageOf = (input: string) => /^node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input)?.[1];

t.test('the command bundle has no query module, kysely or pg', async (t) => {
  const inputs = inputsOf(command);
  t.ok(inputs.some((i) => i.startsWith('src/modules/command/')), 'it does hold the command module');
  t.same(inputs.filter((i) => i.startsWith('src/modules/query/')), []);
  t.same(inputs.filter((i) => ['kysely', 'pg', 'pg-pool', 'pg-protocol'].includes(packageOf(i) ?? '')), []);
});

t.test('the query bundle has no command module', async (t) => {
  const inputs = inputsOf(query);
  t.ok(inputs.some((i) => i.startsWith('src/modules/query/')), 'it does hold the query module');
  t.same(inputs.filter((i) => i.startsWith('src/modules/command/')), []);
});

t.test('no local-mode or documentation tooling and no native addon ships in either bundle', async (t) => {
  const localOnly = ['dynalite', '@electric-sql/pglite', 'kysely-pglite-dialect', 'hapi-swagger', '@hapi/inert', '@hapi/vision', 'classic-level', 'tsx'];
  for (const built of [command, query]) {
    const packages = new Set(inputsOf(built).map(packageOf));
    t.same(localOnly.filter((p) => packages.has(p)), [], built.service);
    t.same(inputsOf(built).filter((i) => i.endsWith('.node')), [], `${built.service}: no .node inputs`);
    const files = await readdir(join(outRoot, built.service));
    t.same(files.sort(), ['index.mjs', 'index.mjs.map', 'meta.json'], `${built.service}: only the bundle is emitted`);
  }
});

t.test('the bundles are ES modules for Node 22, minified, with source maps', async (t) => {
  for (const built of [command, query]) {
    const output = Object.entries(built.metafile.outputs).find(([name]) => name.endsWith('index.mjs'));
    t.ok(output, built.service);
    t.equal(output![1].entryPoint, `src/entry/${built.service}.ts`);
    t.ok(output![1].bytes > 100_000 && output![1].bytes < 2_000_000, `${built.service}: ${output![1].bytes} bytes`);
  }
});
