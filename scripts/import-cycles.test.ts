import { readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import t from 'tap';
import { sourceFiles } from '../tools/affected/source-tree.ts';

/**
 * No import circles in src/: a module that imports another which (through any path) imports it
 * back has no order it can be read in, and the two cannot be understood or changed apart. Every
 * relative import counts, type-only and dynamic ones too; tests are left out (a test may import
 * what it tests and its helpers freely).
 */
const root = resolve(import.meta.dirname, '..');

async function importGraph(): Promise<Map<string, string[]>> {
  const files = (await sourceFiles(root)).filter((file) => file.startsWith('src/') && file.endsWith('.ts') && !/\.(test|suite)\.ts$/.test(file));
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const text = await readFile(join(root, file), 'utf8');
    const specifiers = [...text.matchAll(/(?:^|\s)(?:import|export)\s[^;]*?\sfrom\s+'(\.[^']+)'|import\(\s*'(\.[^']+)'\s*\)/gm)].map((match) => (match[1] ?? match[2])!);
    graph.set(
      file,
      specifiers.map((specifier) => relative(root, resolve(root, dirname(file), specifier))).filter((target) => known.has(target)),
    );
  }
  return graph;
}

/** Each circle once, as the files around it (Tarjan's strongly connected components). */
function circles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (file: string) => {
    index.set(file, index.size);
    low.set(file, index.get(file)!);
    stack.push(file);
    onStack.add(file);
    for (const next of graph.get(file) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(file, Math.min(low.get(file)!, low.get(next)!));
      } else if (onStack.has(next)) low.set(file, Math.min(low.get(file)!, index.get(next)!));
    }
    if (low.get(file) === index.get(file)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== file);
      if (component.length > 1 || graph.get(file)?.includes(file)) found.push(component.sort());
    }
  };
  for (const file of graph.keys()) if (!index.has(file)) visit(file);
  return found;
}

t.test('no import circles in src/', async (t) => {
  const graph = await importGraph();
  t.ok(graph.size > 50, `${graph.size} modules read`);
  t.ok([...graph.values()].some((targets) => targets.length > 0), 'imports were found');
  t.same(circles(graph), [], 'each circle is listed by its files');
});

t.test('the check finds a circle, type-only and dynamic imports included', async (t) => {
  const graph = new Map([
    ['a.ts', ['b.ts']],
    ['b.ts', ['c.ts']],
    ['c.ts', ['a.ts']],
    ['d.ts', ['a.ts']],
  ]);
  t.same(circles(graph), [['a.ts', 'b.ts', 'c.ts']]);
  t.same(circles(new Map([['a.ts', ['a.ts']]])), [['a.ts']], 'a module importing itself');
});
