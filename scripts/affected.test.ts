import { execFileSync } from 'node:child_process';
import { appendFile, copyFile, mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import t from 'tap';
import { fingerprintService } from './affected.ts';

/** SPEC §7 change detection, on throw-away copies of the repository (no git history needed). */
// Every case bundles all three entries and both stacks: on a loaded 2-core machine that takes a while.
t.setTimeout(300_000);
const repo = resolve(import.meta.dirname, '..');

async function copyOfRepo(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'cqrs-affected-'));
  const tracked = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: repo, encoding: 'utf8' })
    .split('\0')
    .filter(Boolean);
  for (const file of tracked) {
    await mkdir(dirname(join(root, file)), { recursive: true });
    await copyFile(join(repo, file), join(root, file)).catch(() => undefined);
  }
  await symlink(join(repo, 'node_modules'), join(root, 'node_modules'));
  return root;
}

const fingerprints = async (root: string) => {
  const [command, query] = await Promise.all([fingerprintService('command', root), fingerprintService('query', root)]);
  return { command: command.fingerprint, query: query.fingerprint };
};

let root: string;
let baseline: { command: string; query: string };
t.before(async () => {
  root = await copyOfRepo();
  baseline = await fingerprints(root);
});
t.teardown(() => rm(root, { recursive: true, force: true }));

/** Edits a file in the copy, returns which services changed, then restores it. */
async function changedBy(file: string): Promise<string[]> {
  const path = join(root, file);
  const original = await import('node:fs/promises').then((fs) => fs.readFile(path));
  await appendFile(path, '\n// a change\n');
  try {
    const now = await fingerprints(root);
    return (['command', 'query'] as const).filter((service) => now[service] !== baseline[service]);
  } finally {
    await import('node:fs/promises').then((fs) => fs.writeFile(path, original));
  }
}

t.test('the same tree on two different paths has the same fingerprints', async (t) => {
  const other = await copyOfRepo();
  t.teardown(() => rm(other, { recursive: true, force: true }));
  t.same(await fingerprints(other), baseline);
  t.same(await fingerprints(repo), baseline, 'and so does the working tree itself');
});

t.test('a query-only file changes only the query service', async (t) => {
  t.same(await changedBy('src/modules/query/messages/message-cursor.ts'), ['query']);
});

t.test('a command-only file changes only the command service', async (t) => {
  t.same(await changedBy('src/modules/command/rules.ts'), ['command']);
});

t.test('a shared file both bundles hold changes both', async (t) => {
  t.same(await changedBy('src/eventstore/commit-item.ts'), ['command', 'query']);
});

t.test('a shared file in both import graphs counts for both, even where tree shaking drops it', async (t) => {
  t.same(await changedBy('src/eventstore/stream-records.ts'), ['command', 'query']);
});

t.test('a file only one service reaches changes only that one', async (t) => {
  t.same(await changedBy('src/modules/query/projection/stream-events.ts'), ['query']);
});

t.test('docs, tests and local-only code change nothing', async (t) => {
  for (const file of ['README.md', 'src/modules/command/command.routes.test.ts', 'src/entry/local.ts', 'src/eventstore/local-dynalite.ts']) {
    t.same(await changedBy(file), [], file);
  }
});

t.test('a Dockerfile changes its service', async (t) => {
  t.same(await changedBy('Dockerfile.command'), ['command']);
  t.same(await changedBy('Dockerfile.query'), ['query']);
});

t.test("a service's stack changes it, shared stack code changes both", async (t) => {
  t.same(await changedBy('infra/lib/query-stack.ts'), ['query']);
  t.same(await changedBy('infra/lib/names.ts'), ['command', 'query']);
});

t.test('a bundled package version counts, an unbundled one does not', async (t) => {
  const lockPath = join(root, 'package-lock.json');
  const fs = await import('node:fs/promises');
  const original = await fs.readFile(lockPath, 'utf8');
  const bump = async (pkg: string) => {
    const lock = JSON.parse(original) as { packages: Record<string, { version: string }> };
    lock.packages[`node_modules/${pkg}`]!.version += '-patched';
    await fs.writeFile(lockPath, JSON.stringify(lock));
    const now = await fingerprints(root);
    await fs.writeFile(lockPath, original);
    return (['command', 'query'] as const).filter((service) => now[service] !== baseline[service]);
  };
  t.same(await bump('pg'), ['query']);
  t.same(await bump('@hapi/hapi'), ['command', 'query']);
  t.same(await bump('dynalite'), []);
});
