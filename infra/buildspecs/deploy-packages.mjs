// The packages a pipeline build needs, one folder per line (node_modules/…): what the services
// bundle (package.json `dependencies`) and the tools that fingerprint and deploy them
// (`deployTools`: tsx, esbuild, aws-cdk-lib, …), each with everything it depends on, resolved in
// package-lock.json as Node resolves them. restore-deps.sh stores only these in the build cache:
// about half of node_modules (no test runner, linters, browsers or emulators). Plain JavaScript on
// purpose: it runs before anything is installed, on whatever Node.js 22 the build image has.
import { existsSync, readFileSync } from 'node:fs';
import process from 'node:process';

const manifest = JSON.parse(readFileSync('package.json', 'utf8'));
const { packages } = JSON.parse(readFileSync('package-lock.json', 'utf8'));

/** Where `name` is found from the package at `from`, as Node looks: nested first, then upwards. */
function resolve(from, name) {
  let dir = from;
  for (;;) {
    const candidate = `${dir ? `${dir}/` : ''}node_modules/${name}`;
    if (Object.hasOwn(packages, candidate)) return candidate;
    if (!dir) return undefined;
    const at = dir.lastIndexOf('/node_modules/');
    dir = at < 0 ? '' : dir.slice(0, at);
  }
}

const needed = new Set();
function visit(path) {
  if (needed.has(path)) return;
  needed.add(path);
  const entry = packages[path];
  const names = Object.keys({ ...entry.dependencies, ...entry.optionalDependencies, ...entry.peerDependencies });
  for (const name of names) {
    const found = resolve(path, name);
    if (found) visit(found);
  }
}

for (const name of [...Object.keys(manifest.dependencies ?? {}), ...(manifest.deployTools ?? [])]) {
  const found = resolve('', name);
  if (!found) throw new Error(`${name} is not in package-lock.json: run npm install`);
  visit(found);
}
// Optional packages for other platforms are in the lockfile but not installed.
process.stdout.write(`${[...needed].filter((path) => existsSync(path)).sort().join('\n')}\n`);
