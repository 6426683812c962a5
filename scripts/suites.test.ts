import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import t from 'tap';

/**
 * `npm test` runs the `*.suite.ts` files, each importing test files to run them in one process
 * (README.md, Tests). A test file no suite imports would never run in the fast tier, and one
 * imported twice would run twice: every fast-tier test file under src/ is in exactly one suite,
 * and the slow tier's files are in none.
 */
const root = resolve(import.meta.dirname, '..');

async function filesUnder(folder: string): Promise<string[]> {
  const entries = await readdir(join(root, folder), { recursive: true });
  return entries.map((entry) => join(folder, entry)).sort();
}

t.test('every fast-tier test file under src/ runs in exactly one suite, and no slow one does', async (t) => {
  const files = await filesUnder('src');
  const tests = files.filter((file) => file.endsWith('.test.ts'));
  const suites = files.filter((file) => file.endsWith('.suite.ts'));
  const members = new Map<string, string[]>();
  for (const suite of suites) {
    const text = await readFile(join(root, suite), 'utf8');
    const imports = [...text.matchAll(/^import '(\.{1,2}\/[^']+)';$/gm)].map((match) => relative(root, resolve(root, dirname(suite), match[1]!)));
    t.ok(imports.length > 0, `${suite} imports test files`);
    t.notMatch(text.replace(/^\/\/.*$/gm, '').replace(/^import '[^']+';$/gm, ''), /\S/, `${suite}: nothing but comments and test file imports`);
    for (const file of imports) {
      t.ok(tests.includes(file), `${suite}: ${file} is a test file`);
      members.set(file, [...(members.get(file) ?? []), suite]);
    }
  }
  for (const file of tests) {
    const runIn = members.get(file) ?? [];
    if (file.endsWith('.slow.test.ts')) t.same(runIn, [], `${file} is in the slow tier, in no suite`);
    else t.equal(runIn.length, 1, `${file} runs in one suite (${runIn.join(', ') || 'none: add it to the suite of its folder'})`);
  }
});
