/**
 * The files a source archive of the repository holds, found without git: every file under the
 * root except what .gitignore files exclude (the `ignore` package reads them as git does) and
 * `.git` itself. CodePipeline hands the builds such an archive; tests copy it to prove that
 * every build step works without git history, whatever else lies in the working tree.
 */
import { cp, mkdir, readFile, readdir } from 'node:fs/promises';
import { dirname, join, posix, relative } from 'node:path';
import ignore from 'ignore';
import type { Ignore } from 'ignore';

async function rules(dir: string): Promise<string | undefined> {
  try {
    return await readFile(join(dir, '.gitignore'), 'utf8');
  } catch {
    return undefined;
  }
}

/** Repository-relative paths (posix), sorted. */
export async function sourceFiles(root: string): Promise<string[]> {
  const files: string[] = [];
  // Each .gitignore applies to its own folder and below, relative to that folder.
  const walk = async (dir: string, scopes: readonly { base: string; rules: Ignore }[]) => {
    const own = await rules(dir);
    const here = own === undefined ? scopes : [...scopes, { base: dir, rules: ignore().add(own) }];
    const entries = await readdir(dir, { withFileTypes: true });
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.name === '.git') continue;
      const path = join(dir, entry.name);
      const isDir = entry.isDirectory();
      const ignored = here.some(({ base, rules }) => rules.ignores(relative(base, path).split('\\').join(posix.sep) + (isDir ? '/' : '')));
      if (ignored) continue;
      if (isDir) await walk(path, here);
      else if (entry.isFile() || entry.isSymbolicLink()) files.push(relative(root, path).split('\\').join(posix.sep));
    }
  };
  await walk(root, []);
  return files;
}

/** Copies the source archive's files from `root` into `dest` (no .git, nothing ignored). */
export async function copySourceTree(root: string, dest: string): Promise<string[]> {
  const files = await sourceFiles(root);
  for (const file of files) {
    await mkdir(dirname(join(dest, file)), { recursive: true });
    await cp(join(root, file), join(dest, file), { preserveTimestamps: false, verbatimSymlinks: true });
  }
  return files;
}
