import { chmod, mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { disposeBundlers, fingerprintService } from '../tools/affected/affected.ts';
import type { Fingerprint } from '../tools/affected/affected.ts';
import { copySourceTree } from '../tools/affected/source-tree.ts';
import { runToEnd } from '../src/testing/run-to-end.ts';
import { identity, repositoryUri, settingsParameters, ssmIds, standIns } from '../tools/pipeline/stand-ins.ts';
import type { Stand } from '../tools/pipeline/stand-ins.ts';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from './lib/build-app.ts';
import { projectContext } from './lib/project-context.ts';

/**
 * The pipelines under hostile input and unlucky timing: runs that overlap, a deploy or a rollback
 * by hand in the middle of a run, SSM values that look like shell, a poisoned build cache, a
 * missing command on an old bash, an update of the previous release's PipelinesStack. Each test
 * states what must hold. Same stand-ins and source-archive copies as pipelines.test.ts.
 */
const repo = resolve(import.meta.dirname, '..');
const image = (fingerprint: string) => `${repositoryUri}:${fingerprint}`;
const fingerprintOf = (root: string) => fingerprintService('command', root, { parameters: { ...settingsParameters, ...ssmIds } });

/** Two source archives: `before` (the tree deployed) and `after` (one more commit to the command side). */
let before: string;
let after: string;
let fpBefore: Fingerprint;
let fpAfter: Fingerprint;
t.before(async () => {
  before = await mkdtemp(join(tmpdir(), 'cqrs-hostile-before-'));
  after = await mkdtemp(join(tmpdir(), 'cqrs-hostile-after-'));
  for (const dir of [before, after]) {
    await copySourceTree(repo, dir);
    await symlink(join(repo, 'node_modules'), join(dir, 'node_modules'));
  }
  const entry = join(after, 'src/entry/command.main.ts');
  await writeFile(entry, `${await readFile(entry, 'utf8')}\n// a later commit\n`);
  fpBefore = await fingerprintOf(before);
  fpAfter = await fingerprintOf(after);
});
t.teardown(async () => {
  await disposeBundlers();
  await Promise.all([before, after].map((dir) => rm(dir, { recursive: true, force: true })));
});

async function standIn(t: Test, stand: Stand, cwd = before) {
  const stage = await standIns({ ...stand, cwd });
  t.teardown(stage.dispose);
  return stage;
}
type Stage = Awaited<ReturnType<typeof standIn>>;
/** One step of deploy-service.sh in `cwd`, against the stand-ins' (shared) state. */
const step = (stage: Stage, cwd: string, which: 'decide' | 'ship', env: Record<string, string> = {}) =>
  runToEnd('bash', ['infra/buildspecs/deploy-service.sh', '--step', which], { cwd, env: stage.environment({ env }) });
/** The pipeline's entry condition of the Ship stage: #{Decide.CHANGED} EQ true. */
const changed = async (cwd: string) => /^CHANGED=true$/m.test(await readFile(join(cwd, '.deploy/decision.env'), 'utf8'));
/** Replaces a stand-in with a wrapper (body runs first; `exec "$real" "$@"` hands over). */
async function wrap(stage: Stage, name: string, body: string) {
  await rename(join(stage.bin, name), join(stage.bin, `${name}.real`));
  await writeFile(join(stage.bin, name), `#!/usr/bin/env bash\nreal="${join(stage.bin, `${name}.real`)}"\n${body}\nexec "$real" "$@"\n`);
  await chmod(join(stage.bin, name), 0o755);
}
const deployedAt = (fingerprint: Fingerprint, extra: Record<string, string> = {}) => ({
  ...settingsParameters,
  ...ssmIds,
  '/cqrs-es/deployed/command': fingerprint.fingerprint,
  '/cqrs-es/deployed-stack/command': `${fingerprint.stack} ${fingerprint.fingerprint}`,
  ...extra,
});

t.test('a revert pushed while the previous run is still shipping gets deployed: runs queue, each decides after the one before has shipped', async (t) => {
  // A V2 pipeline in its default mode (SUPERSEDED) lets a newer run pass Decide while an older one
  // is in Ship: the revert would compare with the fingerprint deployed before the older run
  // recorded its own, find "unchanged", and skip Ship; then the older run would record the bad
  // release. In QUEUED mode a run starts only when the one before it has ended.
  const outdir = await mkdtemp(join(tmpdir(), 'cqrs-hostile-cdk-'));
  t.teardown(() => rm(outdir, { recursive: true, force: true }));
  const app = new App({ outdir, context: projectContext(repo, { ...identity, connectionArn: 'arn:aws:codeconnections:us-east-1:123456789012:connection/0a1b2c3d', sourceRepository: 'owner/repo', natImageId: 'ami-0123456789abcdef0' }) });
  const pipelines = Object.values(Template.fromStack(buildApp(app).pipelines).findResources('AWS::CodePipeline::Pipeline'));
  t.equal(pipelines.length, 2);
  for (const pipeline of pipelines) t.equal(pipeline.Properties.ExecutionMode, 'QUEUED', `${pipeline.Properties.Name as string}: runs queue`);

  // Given `before` is live, run #1 (the commit `after`) decides and ships;
  const stage = await standIn(t, { ssm: deployedAt(fpBefore), functions: { 'cqrs-es-command': image(fpBefore.fingerprint) } });
  t.equal((await step(stage, after, 'decide')).status, 0);
  t.ok(await changed(after), 'run #1 has a change');
  t.equal((await step(stage, after, 'ship', { EXPECTED_FINGERPRINT: fpAfter.fingerprint })).status, 0);
  // then run #2, the revert (the tree `before` again), decides against what run #1 recorded,
  t.equal((await step(stage, before, 'decide')).status, 0);
  t.ok(await changed(before), 'run #2 has a change too: the release it reverts is live');
  t.equal((await step(stage, before, 'ship', { EXPECTED_FINGERPRINT: fpBefore.fingerprint })).status, 0);
  // and the last push is what runs.
  t.same(await stage.functions(), { 'cqrs-es-command': image(fpBefore.fingerprint) }, 'the revert is live');
});

t.test('a decision made before someone else deployed the stack does not put the image alone onto that other stack', async (t) => {
  // Given a decision for an image-only change,
  const stage = await standIn(t, { ssm: deployedAt(fpBefore) }, after);
  t.equal((await step(stage, after, 'decide')).status, 0);
  t.match(await readFile(join(after, '.deploy/decision.env'), 'utf8'), /^STACK_CHANGED=false$/m);
  // when another deploy changes the stack before the ship step runs (a deploy by hand with -c, an
  // older execution retried, CodePipeline's own stage rollback),
  await stage.setSsm({ '/cqrs-es/deployed/command': 'by-hand', '/cqrs-es/deployed-stack/command': 'another-stack by-hand' });
  const ship = await step(stage, after, 'ship', { EXPECTED_FINGERPRINT: fpAfter.fingerprint });
  const calls = await stage.calls();
  // then the ship step deploys the stack too, or stops: never the image alone on a stack it did not decide on.
  const swappedAlone = calls.some((c) => c.startsWith('aws lambda update-function-code')) && !calls.some((c) => c.startsWith('npx cdk deploy'));
  t.notOk(swappedAlone && ship.status === 0, 'no image-only deploy onto another stack');
});

t.test('a pin written while the ship step builds the image stops it before any function changes', async (t) => {
  const stage = await standIn(t, { ssm: deployedAt(fpBefore) }, after);
  t.equal((await step(stage, after, 'decide')).status, 0);
  // The operator rolls back by hand during the docker build: pin written, functions on the good image.
  await wrap(
    stage,
    'docker',
    `if [ "$1" = build ]; then
  node -e 'const fs = require("fs"); const f = process.argv[1]; const s = JSON.parse(fs.readFileSync(f, "utf8")); s["/cqrs-es/pinned/command"] = "good: rolled back"; fs.writeFileSync(f, JSON.stringify(s))' "${join(stage.bin, 'ssm.json')}"
  node -e 'const fs = require("fs"); const f = process.argv[1]; fs.writeFileSync(f, JSON.stringify({ "cqrs-es-command": process.argv[2] }))' "${join(stage.bin, 'functions.json')}" "${image('the-good-one')}"
fi`,
  );
  const ship = await step(stage, after, 'ship', { EXPECTED_FINGERPRINT: fpAfter.fingerprint });
  t.same(await stage.functions(), { 'cqrs-es-command': image('the-good-one') }, `the rollback stays live (ship exited ${ship.status})`);
  t.not((await stage.ssm())['/cqrs-es/deployed/command'], fpAfter.fingerprint, 'and the pinned-over release is not recorded');
});

t.test('a function whose image cannot be read before the deploy is never left behind on another image', async (t) => {
  const two = { 'cqrs-es-command': image('before'), 'cqrs-es-command-2': image('before') };
  const stage = await standIn(t, { ssm: deployedAt(fpBefore), functions: two, env: { FUNCTIONS: 'cqrs-es-command cqrs-es-command-2' } }, after);
  t.equal((await step(stage, after, 'decide')).status, 0);
  // Lambda throttles the first read of the second function, and that function then fails its update.
  await wrap(
    stage,
    'aws',
    `if [ "$1 $2 $4" = "lambda get-function cqrs-es-command-2" ] && [ ! -f "${join(stage.bin, 'throttled')}" ]; then touch "${join(stage.bin, 'throttled')}"; echo "An error occurred (TooManyRequestsException) when calling the GetFunction operation" >&2; exit 254; fi
if [ "$1 $2 $3 $5" = "lambda wait function-updated-v2 cqrs-es-command-2" ]; then echo "Waiter FunctionUpdatedV2 failed: Waiter encountered a terminal failure state" >&2; exit 255; fi`,
  );
  const ship = await step(stage, after, 'ship', { EXPECTED_FINGERPRINT: fpAfter.fingerprint });
  t.not(ship.status, 0);
  t.same(await stage.functions(), two, 'both back on the image they ran');
});

t.test('an SSM value with spaces or shell syntax is data, never shell: the decision file is not executed', async (t) => {
  const marker = join(before, 'ran-from-ssm');
  for (const value of ['reset by hand', `$(touch ${marker})`]) {
    const stage = await standIn(t, { ssm: deployedAt(fpAfter, { '/cqrs-es/deployed/command': value }) }, before);
    t.equal((await step(stage, before, 'decide')).status, 0, value);
    // what decide.yml does next, in the build's shell
    const sourced = await runToEnd('bash', ['-ec', 'source .deploy/decision.env; echo "$CHANGED"'], { cwd: before });
    t.equal(sourced.status, 0, `decide.yml's source line with ${value}: ${sourced.stderr}`);
    const ship = await step(stage, before, 'ship', { EXPECTED_FINGERPRINT: fpBefore.fingerprint });
    t.equal(ship.status, 0, `ship with ${value}: ${ship.stderr.slice(-200)}`);
  }
  await t.rejects(readFile(marker), 'nothing from SSM ran');
});

t.test('the ship step refuses a decision whose bundle list is empty instead of checking nothing', async (t) => {
  const stage = await standIn(t, { ssm: deployedAt(fpBefore) }, after);
  t.equal((await step(stage, after, 'decide')).status, 0);
  await writeFile(join(after, '.deploy/bundles.sha256'), '');
  await writeFile(join(after, 'dist/command/index.mjs'), 'console.log("not what the tag names")\n');
  const ship = await step(stage, after, 'ship', { EXPECTED_FINGERPRINT: fpAfter.fingerprint });
  t.not(ship.status, 0, 'stopped');
  t.notOk((await stage.calls()).some((c) => c.startsWith('docker build')), 'nothing built');
  // (the next test in this file decides afresh, which rebuilds dist/)
});

t.test('by hand on a bash without mapfile (macOS /bin/bash 3.2), a stack deploy gets past its settings', async (t) => {
  const noBash4 = join(before, 'no-bash4.sh');
  await writeFile(noBash4, 'enable -n mapfile readarray\n');
  t.teardown(() => rm(noBash4, { force: true }));
  const stage = await standIn(t, { ssm: { ...settingsParameters, ...ssmIds, '/cqrs-es/deployed/command': 'older' } }, before);
  const result = await runToEnd('npm', ['run', '-s', 'deploy', '--', 'command'], { cwd: before, env: { ...stage.environment({ byHand: true }), BASH_ENV: noBash4 } });
  t.notMatch(result.stderr, /mapfile: command not found/, 'no bash 4 builtin needed');
  t.ok((await stage.calls()).some((c) => c.startsWith('npx cdk deploy CommandStack')), 'deployed');
});

t.test('restore-deps.sh unpacks node_modules and nothing else from the build cache', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cqrs-hostile-cache-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const [work, bucket, evil] = [join(dir, 'work'), join(dir, 'bucket'), join(dir, 'evil')];
  for (const file of ['package.json', 'package-lock.json', 'infra/buildspecs/deploy-packages.mjs', 'infra/buildspecs/restore-deps.sh', 'infra/buildspecs/ship.yml']) {
    await mkdir(join(work, file, '..'), { recursive: true });
    await writeFile(join(work, file), await readFile(join(repo, file)));
  }
  // The key is computed from public files: anyone who may write deps/ can fill it.
  const hash = createHash('sha256');
  for (const file of ['package-lock.json', 'package.json', 'infra/buildspecs/deploy-packages.mjs']) hash.update(await readFile(join(work, file)));
  const key = `deps/${hash.digest('hex').slice(0, 32)}-${process.platform}-${process.arch}-node${process.versions.node.split('.')[0]}.tgz`;
  await mkdir(join(evil, 'node_modules/some-package'), { recursive: true });
  await writeFile(join(evil, 'node_modules/some-package/index.js'), '');
  await mkdir(join(evil, 'infra/buildspecs'), { recursive: true });
  await writeFile(join(evil, 'infra/buildspecs/ship.yml'), 'version: 0.2\nphases: { build: { commands: [ "echo runs as the ship role" ] } }\n');
  await mkdir(join(bucket, 'deps'), { recursive: true });
  execFileSync('tar', ['-czf', join(bucket, key), '-C', evil, 'node_modules', 'infra']);
  const stage = await standIn(t, { ssm: {}, bucket }, work);
  await runToEnd('bash', ['infra/buildspecs/restore-deps.sh'], { cwd: work, env: stage.environment({ env: { DEPS_BUCKET: 'cache' } }) });
  t.equal(await readFile(join(work, 'infra/buildspecs/ship.yml'), 'utf8'), await readFile(join(repo, 'infra/buildspecs/ship.yml'), 'utf8'), 'the ship buildspec the decide artifact carries is the source\'s');
});

t.test('an update of the PipelinesStack of the previous release does not create a CodeBuild project under a name that project still holds', async (t) => {
  // The release before the decide stage named its one build project per service so, under these logical ids:
  const previous: Record<string, string> = { 'cqrs-es-command': 'commandBuild40B3012E', 'cqrs-es-query': 'queryBuild5D0F3C1E' };
  const outdir = await mkdtemp(join(tmpdir(), 'cqrs-hostile-cdk-'));
  t.teardown(() => rm(outdir, { recursive: true, force: true }));
  const app = new App({ outdir, context: projectContext(repo, { ...identity, connectionArn: 'arn:aws:codeconnections:us-east-1:123456789012:connection/0a1b2c3d', sourceRepository: 'owner/repo', natImageId: 'ami-0123456789abcdef0' }) });
  const projects = Template.fromStack(buildApp(app).pipelines).findResources('AWS::CodeBuild::Project');
  for (const [id, project] of Object.entries(projects)) {
    const name = (project.Properties as { Name: string }).Name;
    // CloudFormation creates a resource under a new logical id before it deletes the old one: a
    // custom name the old one still holds fails the create (and the whole update rolls back).
    t.ok(!previous[name] || id === previous[name], `${name} (${id}): a new name, or the previous project's logical id`);
  }
});
