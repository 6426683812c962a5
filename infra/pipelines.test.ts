import { createHash } from 'node:crypto';
import { access, chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { parse } from 'yaml';
import { checkDist, disposeBundlers, fingerprintService } from '../tools/affected/affected.ts';
import type { Fingerprint } from '../tools/affected/affected.ts';
import { copySourceTree, sourceFiles } from '../tools/affected/source-tree.ts';
import { childEnv } from '../src/testing/child-env.ts';
import { runToEnd } from '../src/testing/run-to-end.ts';
import { names, parameters, stackIds } from './lib/names.ts';

/**
 * The pipelines' build steps, checked without AWS: the buildspecs run the project's own scripts,
 * and deploy-service.sh, run with stand-ins for aws, docker and npx that record their calls,
 * respects a pin, stops on an unchanged fingerprint and otherwise bundles, builds, pushes and
 * deploys exactly one stack with the settings stored in SSM, in a pipeline or by hand. Every run
 * happens in one copy of the repository without .git, as CodePipeline hands it over (the script
 * bundles into its dist/, never the working tree's).
 */
const repo = resolve(import.meta.dirname, '..');

const identity = { jwksUrl: 'https://idp.example/.well-known/jwks.json', jwtIssuer: 'https://idp.example/', jwtAudience: 'chat api' };
const ssmIds = {
  [parameters.httpApiId]: 'a1b2c3',
  [parameters.privateSubnetIds]: 'subnet-1,subnet-2',
  [parameters.databaseClientSecurityGroupId]: 'sg-1',
  [parameters.eventsStreamArn]: 'arn:aws:dynamodb:eu-west-1:123456789012:table/cqrs-es-events/stream/2026',
  [parameters.databaseSecretArn]: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:cqrs-es/projections-db-AbCdEf',
};
const settingsParameters = Object.fromEntries(Object.entries(identity).map(([key, value]) => [`${parameters.settingsPath}${key}`, value]));

t.test('buildspecs call the project scripts, in order, and never buildx', async (t) => {
  for (const service of ['command', 'query']) {
    const text = await readFile(join(repo, 'infra/buildspecs', `${service}.yml`), 'utf8');
    const spec = parse(text) as { version: number; phases: Record<string, { commands: string[]; 'runtime-versions'?: Record<string, unknown> }> };
    t.equal(spec.version, 0.2);
    t.equal(spec.phases.install?.['runtime-versions']?.nodejs, 22);
    const commands = Object.values(spec.phases).flatMap((phase) => phase.commands);
    // The deploy step bundles itself: the image holds what the fingerprint was computed from.
    t.same(commands, ['npm ci --no-audit --no-fund', 'npm test', 'bash infra/buildspecs/deploy-service.sh'], service);
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

interface Stand {
  /** SSM parameters the stand-in aws answers with (name → value). */
  readonly ssm: Record<string, string>;
  /** Make `aws ssm get-parameter` of the pin fail as if access were denied. */
  readonly pinDenied?: boolean;
  /** The image of this fingerprint is already in ECR. */
  readonly imageExists?: boolean;
  readonly env?: Record<string, string>;
  /** By hand: `npm run deploy -- <args>` with no pipeline environment; else the pipeline's call. */
  readonly byHand?: readonly string[];
}

/** What the pipeline stack gives the command build (pipelines-stack.ts, from names.ts). */
const pipelineEnv = {
  SERVICE: 'command',
  STACK: stackIds.command,
  REPOSITORY_URI: `123456789012.dkr.ecr.eu-west-1.amazonaws.com/${names.repository('command')}`,
  FINGERPRINT_PARAMETER: parameters.deployedFingerprint('command'),
  PINNED_PARAMETER: parameters.pinned('command'),
};

async function runDeploy(t: Test, stand: Stand) {
  const bin = await mkdtemp(join(tmpdir(), 'cqrs-fake-bin-'));
  t.teardown(() => rm(bin, { recursive: true, force: true }));
  const log = join(bin, 'calls.log');
  await writeFile(join(bin, 'ssm.json'), JSON.stringify(stand.ssm));
  const fake = (name: string, body: string) =>
    writeFile(join(bin, name), `#!/usr/bin/env bash\nprintf '%s\\n' "${name} $*" >> "${log}"\n${body}\n`).then(() => chmod(join(bin, name), 0o755));
  // A small model of the AWS CLI calls the script makes, answering from ssm.json.
  await fake(
    'aws',
    `ssm="${join(bin, 'ssm.json')}"
    case "$1 $2" in
      "ssm get-parameter")
        ${stand.pinDenied ? 'echo "An error occurred (AccessDeniedException) when calling the GetParameter operation" >&2; exit 254' : ''}
        node -e 'const p = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); const v = p[process.argv[2]]; if (v === undefined) { console.error("An error occurred (ParameterNotFound) when calling the GetParameter operation: Parameter " + process.argv[2] + " not found."); process.exit(254) } console.log(v)' "$ssm" "$4" ;;
      "ssm get-parameters-by-path")
        node -e 'const p = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(JSON.stringify(Object.entries(p).filter(([n]) => n.startsWith(process.argv[2])).map(([Name, Value]) => ({ Name, Value, Type: "String" }))))' "$ssm" "$4" ;;
      "ssm put-parameter") ;;
      "sts get-caller-identity") echo 123456789012 ;;
      "ecr get-login-password") echo secret ;;
      "ecr describe-images") exit ${stand.imageExists ? 0 : 1} ;;
      *) echo "unexpected aws call: $*" >&2; exit 2 ;;
    esac`,
  );
  // docker build also records what the image would hold: the hash of each bundle in dist/.
  await fake('docker', `if [ "$1" = build ]; then for f in dist/*/index.mjs; do printf 'image holds %s %s\\n' "$f" "$(sha256sum "$f" | cut -d' ' -f1)" >> "${log}"; done; fi\ncat > /dev/null || true`);
  await fake('npx', 'exit 0');
  const env = childEnv({ PATH: `${bin}:${process.env.PATH}`, AWS_REGION: 'eu-west-1', ...(stand.byHand ? {} : pipelineEnv), ...stand.env });
  for (const key of ['AWS_DEFAULT_REGION', ...(stand.byHand ? Object.keys(pipelineEnv) : [])]) if (!stand.env?.[key]) delete env[key];
  const [command, args] = stand.byHand ? ['npm', ['run', '-s', 'deploy', '--', ...stand.byHand]] : ['bash', ['infra/buildspecs/deploy-service.sh']];
  const result = await runToEnd(command, args, { cwd: archive, env });
  const calls = await readFile(log, 'utf8').then((text) => text.trim().split('\n'), () => [] as string[]);
  return { result, calls };
}

const commandFingerprint = async (root: string, context: Record<string, string> = {}) =>
  fingerprintService('command', root, { parameters: { ...settingsParameters, ...ssmIds }, context });
const deployedState = (fingerprint: string, extra: Record<string, string> = {}) => ({ ...settingsParameters, ...ssmIds, '/cqrs-es/deployed/command': fingerprint, ...extra });
const image = (fingerprint: string) => `123456789012.dkr.ecr.eu-west-1.amazonaws.com/cqrs-es-command:${fingerprint}`;
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

t.test('an unchanged service stops with a clear message and deploys nothing', async (t) => {
  const { result, calls } = await runDeploy(t, { ssm: deployedState(fingerprint) });
  t.equal(result.status, 0, result.stderr);
  t.match(result.stdout, `command is unchanged (fingerprint ${fingerprint} is deployed): nothing to build or deploy.`);
  t.same(calls.filter((c) => !c.startsWith('aws ssm get-')), []);
});

t.test('a changed service is bundled afresh (a stale dist/ never reaches the image), built for arm64, pushed under its fingerprint, deployed alone with the stored settings, recorded', async (t) => {
  await mkdir(join(archive, 'dist/command'), { recursive: true });
  await writeFile(join(archive, 'dist/command/index.mjs'), '// an older build\n');
  const { result, calls } = await runDeploy(t, { ssm: deployedState('an-older-fingerprint'), env: { CODEBUILD_RESOLVED_SOURCE_VERSION: '0123abcd' } });
  t.equal(result.status, 0, result.stderr);
  t.same(
    calls.filter((c) => !c.startsWith('aws ecr') && !c.startsWith('image holds')),
    [
      'aws ssm get-parameter --name /cqrs-es/pinned/command --query Parameter.Value --output text',
      'aws ssm get-parameters-by-path --path /cqrs-es/ --recursive --query Parameters --output json',
      'docker login --username AWS --password-stdin 123456789012.dkr.ecr.eu-west-1.amazonaws.com',
      `docker build --platform linux/arm64 --provenance=false -f Dockerfile.command -t ${image(fingerprint)} .`,
      `docker push ${image(fingerprint)}`,
      deployCall(fingerprint),
      `aws ssm put-parameter --name /cqrs-es/deployed/command --value ${fingerprint} --type String --overwrite --description source 0123abcd`,
    ],
  );
  t.match(result.stdout, `command changed: deployed an-older-fingerprint, now ${fingerprint}.`);
  t.match(result.stdout, `command deployed: ${fingerprint}`);
  t.ok(calls.includes(`image holds dist/command/index.mjs ${fingerprinted.bundles.command}`), 'the image holds the bundle the fingerprint names');
  t.equal(sha256(await readFile(join(archive, 'dist/command/index.mjs'))), fingerprinted.bundles.command, 'not the stale one');
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
  t.ok(calls.includes(`aws ssm put-parameter --name /cqrs-es/deployed/command --value ${fingerprint} --type String --overwrite --description source unknown`));
  t.match(result.stdout, `command pinned at ${fingerprint}`);
});

t.test('a rollback to a tree whose image is in ECR needs no Docker', async (t) => {
  const { result, calls } = await runDeploy(t, { ssm: deployedState('a-bad-release'), env: { PIN_REASON: 'bad release' }, imageExists: true });
  t.equal(result.status, 0, result.stderr);
  t.match(result.stdout, `image ${fingerprint} is already in cqrs-es-command`);
  t.notOk(calls.some((c) => c.startsWith('docker') || c.startsWith('aws ecr get-login-password')), 'no docker call');
  t.ok(calls.includes(deployCall(fingerprint)));
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
  const { result, calls } = await runDeploy(t, { ssm: { ...settingsParameters, ...ssmIds } });
  t.equal(result.status, 0, result.stderr);
  t.match(result.stdout, `command changed: deployed none, now ${fingerprint}.`);
  t.ok(calls.includes(deployCall(fingerprint)), 'deployed from the copy');
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
      deployCall(fingerprint),
      `aws ssm put-parameter --name ${parameters.deployedFingerprint('command')} --value ${fingerprint} --type String --overwrite --description source abc1234`,
    ],
    'pin honoured, fingerprint recorded, the stack deployed alone',
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

t.test('no test or build script shells out to git', async (t) => {
  const files = (await sourceFiles(repo)).filter((f) => /^(src|scripts|infra|\.ci)\//.test(f) && /\.(ts|mjs|js|sh|yml)$|\/run$/.test(f));
  t.ok(files.length > 50, `${files.length} files checked`);
  const git = ['g', 'i', 't'].join('');
  const callsGit = new RegExp(`(['"\`])${git}\\1|(^|[;&|(\\s])${git}\\s+(ls-files|rev-parse|archive|log|diff|status|describe|show|clone|checkout)\\b`, 'm');
  for (const file of files) t.notMatch(await readFile(join(repo, file), 'utf8'), callsGit, file);
});
