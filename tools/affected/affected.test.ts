import { readFile, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import t from 'tap';
import { parameters } from '../../infra/lib/names.ts';
import { imageBundles } from '../../infra/lib/service-image.ts';
import { deployedTemplate, disposeBundlers, fingerprintService, imageTagPlaceholder, parseArgs } from './affected.ts';
import type { FingerprintOptions } from './affected.ts';
import { bundles } from '../../scripts/build.ts';
import { copySourceTree } from './source-tree.ts';

/**
 * Change detection (ARCHITECTURE.md, infrastructure), on throw-away copies of the repository made
 * without git (the files a source archive holds), as the pipelines see it.
 */
const repo = resolve(import.meta.dirname, '../..');
const identity = { jwksUrl: 'https://idp.example/.well-known/jwks.json', jwtIssuer: 'https://idp.example/', jwtAudience: 'chat' };

async function copyOfRepo(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'cqrs-affected-'));
  await copySourceTree(repo, root);
  await symlink(join(repo, 'node_modules'), join(root, 'node_modules'));
  return root;
}

const fingerprints = async (root: string, options: FingerprintOptions = {}) => {
  const withIdentity = { ...options, context: { ...identity, ...options.context } };
  const command = await fingerprintService('command', root, withIdentity);
  const query = await fingerprintService('query', root, withIdentity);
  return { command: command.fingerprint, query: query.fingerprint };
};
const differing = (now: { command: string; query: string }, before: { command: string; query: string }) =>
  (['command', 'query'] as const).filter((service) => now[service] !== before[service]);

let root: string;
let baseline: { command: string; query: string };
t.before(async () => {
  root = await copyOfRepo();
  baseline = await fingerprints(root);
});
t.teardown(async () => {
  await disposeBundlers();
  await rm(root, { recursive: true, force: true });
});

/** Edits a file in the copy, returns which services changed, then restores it. */
async function changedBy(file: string, edit: (text: string) => string = (text) => `${text}\n// a change\n`): Promise<string[]> {
  const path = join(root, file);
  const original = await readFile(path, 'utf8');
  const edited = edit(original);
  if (edited === original) throw new Error(`the edit of ${file} changed nothing`);
  await writeFile(path, edited);
  try {
    return differing(await fingerprints(root), baseline);
  } finally {
    await writeFile(path, original);
  }
}

t.test('the same tree has the same fingerprints on another path, and in the working tree with its .git', async (t) => {
  const other = await copyOfRepo();
  t.teardown(() => rm(other, { recursive: true, force: true }));
  t.same(await fingerprints(other), baseline);
  t.same(await fingerprints(repo), baseline, 'and so does the working tree itself');
});

t.test('a fingerprint names its parts: bundles, sources, packages, the template, deploy-time parameters', async (t) => {
  const { parts } = await fingerprintService('query', root, { context: identity });
  t.ok(parts.some((p) => p.startsWith('bundle query ')));
  t.ok(parts.some((p) => p.startsWith('Dockerfile.query ')));
  t.ok(parts.some((p) => p.startsWith('node_modules/aws-cdk-lib@')));
  t.ok(parts.some((p) => /^template [0-9a-f]{64}$/.test(p)));
  t.ok(parts.some((p) => p.startsWith(`ssm ${parameters.databaseSecretArn} `)));
  t.notOk(parts.some((p) => p.includes(root) || p.includes(tmpdir())), 'no absolute path');
});

t.test('the fingerprinted template holds no path, asset hash, timestamp or image tag of its own', async (t) => {
  for (const service of ['command', 'query'] as const) {
    const { json } = await deployedTemplate(root, service, identity);
    t.notMatch(json, root, `${service}: no path of the copy`);
    t.notMatch(json, repo, `${service}: no path of the repository`);
    t.notMatch(json, /\/tmp\/|\/home\/|\/Users\//, `${service}: no absolute path`);
    t.notMatch(json, /[0-9a-f]{64}/, `${service}: no asset hash`);
    t.notMatch(json, /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/, `${service}: no timestamp`);
    t.match(json, `:${imageTagPlaceholder}`, `${service}: the image tag is the placeholder`);
    t.notMatch(json, /AWS::CDK::Metadata/, `${service}: no version report`);
  }
});

t.test('a query-only file changes only the query service', async (t) => {
  t.same(await changedBy('src/modules/query/messages/message-cursor.ts'), ['query']);
});

t.test('a command-only file changes only the command service', async (t) => {
  t.same(await changedBy('src/modules/command/command.schemas.ts'), ['command']);
});

t.test('a shared file in both import graphs counts for both, even where tree shaking drops it', async (t) => {
  t.same(await changedBy('src/eventstore/stream-records.ts'), ['command', 'query']);
});

t.test('docs, tests and local-only code change nothing', async (t) => {
  for (const file of ['README.md', 'src/modules/command/command.routes.test.ts', 'src/entry/local.ts']) {
    t.same(await changedBy(file), [], file);
  }
});

t.test('a Dockerfile changes its service', async (t) => {
  t.same(await changedBy('Dockerfile.query'), ['query']);
});

t.test('the query image ships the query and the projector bundles', async (t) => {
  t.same(imageBundles, { command: ['command'], query: ['query', 'projector'] });
});

t.test('the projector bundle counts for the query service alone', async (t) => {
  t.ok(Object.hasOwn(bundles, 'projector'), 'the build makes a projector bundle');
  t.same(await changedBy('src/entry/projector.ts'), ['query']);
  t.same(await changedBy('src/modules/projector/stream-events.ts'), ['query'], 'a file only the projector bundles');
});

t.test('how a service deploys counts: stack code that changes its template, not a comment', async (t) => {
  t.same(await changedBy('infra/lib/query-stack.ts'), [], 'a comment in the stack code');
  t.same(await changedBy('infra/lib/query-stack.ts', (text) => text.replace('memorySize: 256,', 'memorySize: 512,')), ['query']);
  t.same(await changedBy('infra/lib/service-function.ts', (text) => text.replace('RetentionDays.ONE_MONTH', 'RetentionDays.TWO_WEEKS')), ['command', 'query']);
});

t.test('the stack part of a fingerprint changes with the template and deploy-time values, never with code alone', async (t) => {
  const stackOf = async (options: FingerprintOptions = {}) => (await fingerprintService('query', root, { ...options, context: { ...identity, ...options.context } })).stack;
  const before = await stackOf();
  const file = join(root, 'src/modules/query/index.ts');
  const original = await readFile(file, 'utf8');
  await writeFile(file, `${original}\nexport const aChange = 1;\n`);
  try {
    const changed = await fingerprintService('query', root, { context: identity });
    t.not(changed.fingerprint, baseline.query, 'code changes the fingerprint');
    t.equal(changed.stack, before, 'but not its stack part: a deploy swaps the image alone');
  } finally {
    await writeFile(file, original);
  }
  t.not(await stackOf({ context: { jwtAudience: 'another' } }), before, 'a setting changes the template');
  t.not(await stackOf({ parameters: { [parameters.privateSubnetIds]: 'subnet-9' } }), before, 'a value resolved at deploy time');
});

t.test('settings count: identity, the authorizer flag, and feature flags in cdk.json', async (t) => {
  t.same(differing(await fingerprints(root, { context: { jwtAudience: 'another' } }), baseline), ['command', 'query']);
  t.same(differing(await fingerprints(root, { context: { useJwtAuthorizer: 'true' } }), baseline), ['command', 'query']);
  t.same(
    await changedBy('cdk.json', (text) => text.replace('"@aws-cdk/aws-iam:minimizePolicies": true', '"@aws-cdk/aws-iam:minimizePolicies": false')),
    ['command', 'query'],
  );
});

t.test('settings stored in SSM become context; values resolved at deploy time count', async (t) => {
  const settings = Object.fromEntries(Object.entries(identity).map(([key, value]) => [`${parameters.settingsPath}${key}`, value]));
  const ids = {
    [parameters.httpApiId]: 'a1b2c3',
    [parameters.privateSubnetIds]: 'subnet-1,subnet-2',
    [parameters.databaseClientSecurityGroupId]: 'sg-1',
    [parameters.eventsStreamArn]: 'arn:aws:dynamodb:us-east-1:123456789012:table/cqrs-es-events/stream/2026',
    [parameters.databaseSecretArn]: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:cqrs-es/projections-db-AbCdEf',
  };
  const fromSsm = async (extra: Record<string, string>) => {
    const options = { parameters: { ...settings, ...ids, ...extra } };
    const [command, query] = [await fingerprintService('command', root, options), await fingerprintService('query', root, options)];
    return { command: command.fingerprint, query: query.fingerprint, settings: command.settings };
  };
  const before = await fromSsm({});
  t.same(before.settings, identity, 'the settings are read from the parameters');
  t.same(differing(await fromSsm({ [parameters.privateSubnetIds]: 'subnet-3,subnet-4' }), before), ['query'], 'new subnets: the query functions');
  t.same(differing(await fromSsm({ [parameters.httpApiId]: 'z9y8x7' }), before), ['command', 'query'], 'a new API: both services');
  t.same(differing(await fromSsm({ [`${parameters.settingsPath}jwksUrl`]: 'https://other.example/jwks.json' }), before), ['command', 'query']);
  t.same(differing(await fromSsm({ [parameters.deployedFingerprint('query')]: 'whatever' }), before), [], 'the deployed fingerprint itself does not count');
});

t.test('a bundled package version counts, aws-cdk-lib counts for both, an unbundled one for none', async (t) => {
  const bump = (pkg: string) => (text: string) => {
    const lock = JSON.parse(text) as { packages: Record<string, { version: string }> };
    lock.packages[`node_modules/${pkg}`]!.version += '-patched';
    return JSON.stringify(lock);
  };
  t.same(await changedBy('package-lock.json', bump('pg')), ['query']);
  t.same(await changedBy('package-lock.json', bump('aws-cdk-lib')), ['command', 'query']);
  t.same(await changedBy('package-lock.json', bump('dynalite')), []);
});

t.test('a missing setting fails with the stack\'s one-line message', async (t) => {
  const failure = await fingerprintService('command', root).then(
    () => 'resolved',
    (error: unknown) => (error as Error).message,
  );
  t.match(failure, /^CommandStack: missing settings jwksUrl, jwtIssuer, jwtAudience: pass -c jwksUrl=/);
  t.notMatch(failure, /\n/, 'one line');
});

t.test('the command line: services, -c key=value, files', async (t) => {
  t.same(parseArgs(['query', '-c', 'jwksUrl=https://x/y?a=b', '--parameters', 'p.json', '--json']), {
    list: ['query'],
    context: { jwksUrl: 'https://x/y?a=b' },
    parameters: 'p.json',
    deployed: '.deployed-fingerprints.json',
    flags: new Set(['--json']),
  });
  t.throws(() => parseArgs(['billing']), /unknown service billing/);
  t.throws(() => parseArgs(['-c', 'novalue']), /needs key=value/);
});
