import { spawnSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { parse } from 'yaml';
import { fingerprintService } from '../scripts/affected.ts';
import { childEnv } from '../src/testing/child-env.ts';

/**
 * The pipelines' build steps, checked without AWS: the buildspecs run the project's own scripts,
 * and deploy-service.sh, run with stand-ins for aws, docker and npx that record their calls,
 * stops on an unchanged fingerprint and otherwise builds, pushes and deploys exactly one stack.
 */
const repo = resolve(import.meta.dirname, '..');

t.test('buildspecs call the project scripts, in order, and never buildx', async (t) => {
  for (const service of ['command', 'query']) {
    const text = await readFile(join(repo, 'infra/buildspecs', `${service}.yml`), 'utf8');
    const spec = parse(text) as { version: number; phases: Record<string, { commands: string[]; 'runtime-versions'?: Record<string, unknown> }> };
    t.equal(spec.version, 0.2);
    t.equal(spec.phases.install?.['runtime-versions']?.nodejs, 22);
    const commands = Object.values(spec.phases).flatMap((phase) => phase.commands);
    t.same(commands, ['npm ci --no-audit --no-fund', 'npm test', 'npm run build', 'bash infra/buildspecs/deploy-service.sh'], service);
    t.notMatch(text, /buildx/);
  }
  const script = await readFile(join(repo, 'infra/buildspecs/deploy-service.sh'), 'utf8');
  t.notMatch(script.replace(/^#.*$/gm, ''), /buildx|--platform[ =](?!linux\/arm64)/, 'one architecture only');
  t.match(script, /docker build --platform linux\/arm64 --provenance=false/);
  t.match(script, /npm run -s affected -- "\$SERVICE"/);
  t.match(script, /npx cdk deploy "\$STACK" --exclusively/);
});

async function runDeploy(t: Test, deployed: string) {
  const bin = await mkdtemp(join(tmpdir(), 'cqrs-fake-bin-'));
  t.teardown(() => rm(bin, { recursive: true, force: true }));
  const log = join(bin, 'calls.log');
  const fake = (name: string, body: string) =>
    writeFile(join(bin, name), `#!/usr/bin/env bash\necho "${name} $*" >> "${log}"\n${body}\n`).then(() => chmod(join(bin, name), 0o755));
  await fake(
    'aws',
    `case "$1 $2" in
      "ssm get-parameter") echo "${deployed}" ;;
      "ecr get-login-password") echo secret ;;
      "ecr describe-images") exit 1 ;;
    esac`,
  );
  await fake('docker', 'cat > /dev/null || true');
  await fake('npx', 'exit 0');
  const result = spawnSync('bash', ['infra/buildspecs/deploy-service.sh'], {
    cwd: repo,
    encoding: 'utf8',
    timeout: 120_000,
    env: childEnv({
      PATH: `${bin}:${process.env.PATH}`,
      SERVICE: 'command',
      STACK: 'CommandStack',
      REPOSITORY_URI: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/cqrs-es-command',
      FINGERPRINT_PARAMETER: '/cqrs-es/deployed/command',
      DEPLOYED_FILE: join(bin, 'deployed.json'),
    }),
  });
  const calls = await readFile(log, 'utf8').then((text) => text.trim().split('\n'), () => [] as string[]);
  return { result, calls };
}

t.test('an unchanged service stops with a clear message and deploys nothing', async (t) => {
  const { fingerprint } = await fingerprintService('command', repo);
  const { result, calls } = await runDeploy(t, fingerprint);
  t.equal(result.status, 0, result.stderr);
  t.match(result.stdout, `command is unchanged (fingerprint ${fingerprint} is deployed): nothing to build or deploy.`);
  t.same(calls.filter((c) => !c.startsWith('aws ssm get-parameter')), []);
});

t.test('a changed service is built for arm64, pushed under its fingerprint, deployed alone, recorded', async (t) => {
  const { fingerprint } = await fingerprintService('command', repo);
  const { result, calls } = await runDeploy(t, 'an-older-fingerprint');
  t.equal(result.status, 0, result.stderr);
  const image = `123456789012.dkr.ecr.eu-west-1.amazonaws.com/cqrs-es-command:${fingerprint}`;
  t.same(
    calls.filter((c) => !c.startsWith('aws ecr')),
    [
      'aws ssm get-parameter --name /cqrs-es/deployed/command --query Parameter.Value --output text',
      'docker login --username AWS --password-stdin 123456789012.dkr.ecr.eu-west-1.amazonaws.com',
      `docker build --platform linux/arm64 --provenance=false -f Dockerfile.command -t ${image} .`,
      `docker push ${image}`,
      `npx cdk deploy CommandStack --exclusively --require-approval never -c commandImageTag=${fingerprint}`,
      `aws ssm put-parameter --name /cqrs-es/deployed/command --value ${fingerprint} --type String --overwrite`,
    ],
  );
  t.match(result.stdout, `command deployed: ${fingerprint}`);
});
