import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import t from 'tap';
import { packageOf, summariseProfiles, summaryMarkdown } from './profile.ts';
import type { CpuProfile } from './profile.ts';

t.test('packageOf names the package or project folder a source comes from', async (t) => {
  t.equal(packageOf('../../node_modules/@hapi/hapi/lib/server.js'), '@hapi/hapi');
  t.equal(packageOf('../../node_modules/joi/lib/index.js'), 'joi');
  t.equal(packageOf('../../node_modules/a/node_modules/b/index.js'), 'b', 'the innermost node_modules');
  t.equal(packageOf('../../../../work/repo/src/modules/command/handle-command.ts'), 'src/modules/command');
  t.equal(packageOf('src/shared/auth.ts'), 'src/shared');
  t.equal(packageOf('trimmed-mime-db:mime-db'), 'mime-db', 'an esbuild plugin namespace');
});

/**
 * A real bundle (two packages and an entry, with esbuild's source map and metafile) and a
 * hand-made profile of it: 30 samples in a function of package `alpha`, 10 in one of `beta`,
 * 5 in the garbage collector and 55 idle.
 */
t.test('self time is attributed through the source map to packages, idle left out', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cqrs-profile-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'node_modules/alpha'), { recursive: true });
  await mkdir(join(dir, 'node_modules/beta'), { recursive: true });
  await writeFile(join(dir, 'node_modules/alpha/index.js'), 'module.exports.burnAlpha = function burnAlpha(n) {\n  let x = 0;\n  for (let i = 0; i < n; i++) x += i;\n  return x;\n};\n');
  await writeFile(join(dir, 'node_modules/beta/package.json'), '{"name":"beta","type":"module","main":"index.mjs"}');
  await writeFile(join(dir, 'node_modules/beta/index.mjs'), 'export function burnBeta(n) {\n  return n * 2;\n}\n');
  await writeFile(join(dir, 'entry.mjs'), "import { burnAlpha } from 'alpha';\nimport { burnBeta } from 'beta';\nconsole.log(burnAlpha(10) + burnBeta(2));\n");
  const out = join(dir, 'out');
  const result = await build({ absWorkingDir: dir, entryPoints: { index: 'entry.mjs' }, outdir: out, outExtension: { '.js': '.mjs' }, bundle: true, format: 'esm', platform: 'node', sourcemap: true, metafile: true, logLevel: 'silent' });
  await writeFile(join(out, 'meta.json'), JSON.stringify(result.metafile));
  const code = await readFile(join(out, 'index.mjs'), 'utf8');
  const lines = code.split('\n');
  const where = (marker: string) => {
    const line = lines.findIndex((l) => l.includes(marker));
    return { line, column: lines[line]!.indexOf(marker) };
  };
  const alpha = where('function burnAlpha');
  const beta = where('function burnBeta');
  const url = pathToFileURL(join(out, 'index.mjs')).href;
  const frame = (functionName: string, at = { line: -1, column: -1 }, script = '') => ({ functionName, url: script, lineNumber: at.line, columnNumber: at.column });
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: frame('(root)') },
      { id: 2, callFrame: frame('burnAlpha', alpha, url), positionTicks: [{ line: alpha.line + 3, ticks: 30 }] },
      { id: 3, callFrame: frame('burnBeta', beta, url) },
      { id: 4, callFrame: frame('(garbage collector)') },
      { id: 5, callFrame: frame('(idle)') },
    ],
    startTime: 0,
    endTime: 100 * 100,
    samples: [...Array<number>(30).fill(2), ...Array<number>(10).fill(3), ...Array<number>(5).fill(4), ...Array<number>(55).fill(5)],
    timeDeltas: Array<number>(100).fill(100),
  };
  const summary = await summariseProfiles([profile, profile], { code: join(out, 'index.mjs') });
  t.equal(summary.profiles, 2);
  t.equal(summary.busyMs, 4.5, '45 busy samples of 0.1 ms, per profile');
  const byName = Object.fromEntries(summary.packages.map((p) => [p.name, p]));
  t.equal(byName.alpha?.ms, 3, 'alpha: 30 samples');
  t.equal(byName.beta?.ms, 1, 'beta: 10 samples');
  t.equal(byName['(garbage collector)']?.ms, 0.5);
  t.notOk(byName['(idle)'], 'idle time is not start-up work');
  t.equal(summary.packages[0]!.name, 'alpha', 'sorted by time');
  t.ok(byName.alpha!.bytes! > 0, 'bytes in the bundle, from the metafile');
  t.match(summary.functions[0]!.name, /^burnAlpha \(node_modules\/alpha\/index\.js:1\)$/, 'functions name their source');
  const markdown = summaryMarkdown('test', summary);
  t.match(markdown, /\| alpha \| 3\.0 \| 67 % \|/);
});
