import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { App } from 'aws-cdk-lib';
import t from 'tap';
import { buildApp } from './lib/build-app.ts';
import { cfnLintIgnoredKey } from './lib/nag.ts';
import { projectContext } from './lib/project-context.ts';
import { runToEnd } from '../src/testing/run-to-end.ts';

/**
 * cfn-lint (AWS's CloudFormation linter, a Python program: Debian's package `cfn-lint`, or pip's)
 * over every synthesized template, beside cdk-nag in infra.test.ts: no error or warning, except a
 * rule skipped on one resource with its reason in code (`cfnLintIgnore` in lib/nag.ts). `.ci/run`
 * installs it where the machine's packages have it; without it this file says so and skips.
 */
const root = resolve(import.meta.dirname, '..');
const context = {
  jwksUrl: 'https://idp.example/.well-known/jwks.json',
  jwtIssuer: 'https://idp.example/',
  jwtAudience: 'chat',
  useJwtAuthorizer: 'true',
  connectionArn: 'arn:aws:codeconnections:us-east-1:123456789012:connection/0a1b2c3d',
  sourceRepository: 'owner/repo',
  natImageId: 'ami-0123456789abcdef0',
};

const version = await runToEnd('cfn-lint', ['--version']).catch((error: NodeJS.ErrnoException) => ({ status: null, stdout: '', stderr: error.code ?? String(error) }));
const missing = version.status === 0 ? false : `cfn-lint is not installed (${version.stderr.trim() || `exit ${version.status}`}): apt-get install cfn-lint, or pip install cfn-lint`;

let outdir: string;
let app: App;
t.before(async () => {
  outdir = await mkdtemp(join(tmpdir(), 'cqrs-cfn-lint-'));
  app = new App({ outdir, context: projectContext(root, context) });
  buildApp(app);
  app.synth();
});
t.teardown(() => rm(outdir, { recursive: true, force: true }));

t.test('every template passes cfn-lint: no error, no warning', { skip: missing }, async (t) => {
  const templates = (await readdir(outdir)).filter((file) => file.endsWith('.template.json')).sort();
  t.same(templates, ['ApiStack.template.json', 'CommandStack.template.json', 'DataStack.template.json', 'PipelinesStack.template.json', 'QueryStack.template.json'], `every stack (${version.stdout.trim()})`);
  // Given the synthesized templates, when cfn-lint reads them all (its errors and warnings),
  const result = await runToEnd('cfn-lint', ['--format', 'parseable', '--', ...templates], { cwd: outdir });
  // then it reports nothing: exit 0, no finding line.
  t.same(result.stdout.trim().split('\n').filter(Boolean), [], 'no findings');
  t.equal(result.status, 0, result.stderr);
});

t.test('a rule cfn-lint skips on a resource is skipped in code with its reason', async (t) => {
  // Given the resources that carry a cfn-lint ignore in the templates,
  const ignored = app.node
    .findAll()
    .flatMap((construct) => construct.node.metadata.filter((entry) => entry.type === cfnLintIgnoredKey).map((entry) => ({ path: construct.node.path, ...(entry.data as { rules: string[]; reason: string }) })));
  // then each was made by cfnLintIgnore, with a reason worth the name and named rules only.
  t.ok(ignored.length > 0, `${ignored.length} resources skip a rule`);
  for (const { path, rules, reason } of ignored) {
    t.ok(reason.length > 30, `${path}: ${reason}`);
    t.ok(rules.every((rule) => /^[EWI]\d{4}$/.test(rule)), `${path}: ${rules.join(', ')}`);
  }
});
