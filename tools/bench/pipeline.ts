/**
 * The pipeline's steps that can run on this machine, timed on a clean clone of the committed tree
 * as a pipeline runs them, with the AWS calls answered by the stand-ins (tools/pipeline/stand-ins.ts):
 *
 * - restoring node_modules from a warm build cache (restore-deps.sh unpacking the tarball a
 *   previous build stored; the bucket is a folder here);
 * - the decide step when nothing changed (pin, one read of SSM, bundles, fingerprint): with the
 *   restore, the whole "unchanged" path a pipeline runs before it ends;
 * - the decide step of a change (the same, plus the identity check when the authorizer is on);
 * - the ship step of an image-only change (pin, bundle check, the function swap with the waiter;
 *   `docker build` and `push` are stand-ins: no Docker engine here);
 * - `cdk synth` of one service stack, the local part of a stack deploy's `cdk deploy`.
 *
 * Each step runs `runs` times; the rows give the median with the range. The AWS side (queues,
 * provisioning, Lambda's image update) cannot run here: DEPLOY.md gives those with sources.
 */
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parameters } from '../../infra/lib/names.ts';
import { runToEnd } from '../../src/testing/run-to-end.ts';
import { identity, settingsParameters, ssmIds, standIns } from '../pipeline/stand-ins.ts';
import type { Row } from './report.ts';

export interface PipelineOptions {
  /** The repository to clone (its committed HEAD); its node_modules fill the build cache. */
  readonly root: string;
  readonly runs?: number;
  readonly log: (message: string) => void;
}

/** What SSM holds in a deployed account: the settings and the shared resources' ids. */
const deployedAccount: Record<string, string> = { ...settingsParameters, ...ssmIds };

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const seconds = (ms: number) => Math.round(ms / 100) / 10;

async function timed(what: string, command: string, args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<number> {
  const started = performance.now();
  const ended = await runToEnd(command, args, options);
  const ms = performance.now() - started;
  if (ended.status !== 0) throw new Error(`${what} failed (exit ${ended.status}):\n${(ended.stdout + ended.stderr).split('\n').slice(-15).join('\n')}`);
  return ms;
}

/** The fields of the decision the decide step left in `.deploy/decision.env`. */
async function decision(clone: string): Promise<Record<string, string>> {
  const text = await readFile(join(clone, '.deploy/decision.env'), 'utf8');
  return Object.fromEntries(text.trim().split('\n').map((line) => line.split('=', 2) as [string, string]));
}

export async function pipelineFigures(options: PipelineOptions): Promise<Row[]> {
  const runs = options.runs ?? 3;
  const work = await mkdtemp(join(tmpdir(), 'bench-pipeline-'));
  try {
    const clone = join(work, 'clone');
    const bucket = join(work, 'bucket');
    await mkdir(bucket);
    const cloned = await runToEnd('git', ['clone', '-q', options.root, clone]);
    if (cloned.status !== 0) throw new Error(`git clone of ${options.root} failed: ${cloned.stderr}`);
    // A source archive, as CodePipeline hands it over: no history.
    await rm(join(clone, '.git'), { recursive: true, force: true });

    // The service whose pipeline is timed: the command service (one function, one bundle) is the
    // smaller; the query pipeline bundles two, which the decide rows of both show.
    const samples: Record<string, number[]> = {};
    const sample = (name: string, ms: number) => (samples[name] ??= []).push(ms);
    for (const service of ['command', 'query'] as const) {
      const stage = await standIns({ ssm: deployedAccount, bucket, cwd: clone, env: service === 'query' ? queryEnv : {} });
      try {
        const env = stage.environment({ env: { DEPS_BUCKET: 'build-cache' } });
        if (service === 'command') {
          // The first build of this lockfile (not timed): its npm ci (here a copy of the installed
          // packages) stored in the cache by restore-deps.sh, which the timed runs then find.
          options.log('pipeline: a first build fills the build cache');
          await writeFile(join(stage.bin, 'npm'), `#!/usr/bin/env bash\n[ "$1" = ci ] && cp -a "${join(options.root, 'node_modules')}" node_modules\n`);
          await chmod(join(stage.bin, 'npm'), 0o755);
          await timed('filling the build cache', 'bash', ['infra/buildspecs/restore-deps.sh'], { cwd: clone, env });
          await rm(join(stage.bin, 'npm'));
        }
        for (let i = 0; i < runs; i++) {
          options.log(`pipeline: ${service}, run ${i + 1} of ${runs}`);
          if (service === 'command') {
            await rm(join(clone, 'node_modules'), { recursive: true, force: true });
            // (the previous run's files written out first, so the restore is timed alone)
            await runToEnd('sync', []);
            sample('restore', await timed('restore-deps.sh', 'bash', ['infra/buildspecs/restore-deps.sh'], { cwd: clone, env }));
          }
          // A change: nothing recorded yet for the service.
          sample(`${service} decide changed`, await timed('the decide step', 'bash', ['infra/buildspecs/deploy-service.sh', '--step', 'decide'], { cwd: clone, env }));
          const decided = await decision(clone);
          if (service === 'command') {
            // The stack as deployed: ship swaps the image (docker is a stand-in).
            await stage.setSsm({ [parameters.deployedStack(service)]: `${decided.STACK_FINGERPRINT!} none` });
            await timed('decide, image-only change', 'bash', ['infra/buildspecs/deploy-service.sh', '--step', 'decide'], { cwd: clone, env });
            const shipEnv = stage.environment({ env: { DEPS_BUCKET: 'build-cache', EXPECTED_FINGERPRINT: decided.FINGERPRINT! } });
            sample('ship image only', await timed('the ship step', 'bash', ['infra/buildspecs/deploy-service.sh', '--step', 'ship'], { cwd: clone, env: shipEnv }));
          }
          // Unchanged: what ship just recorded (or, for the query side, recorded here) is this tree.
          await stage.setSsm({ [parameters.deployedFingerprint(service)]: decided.FINGERPRINT!, [parameters.deployedStack(service)]: `${decided.STACK_FINGERPRINT!} ${decided.FINGERPRINT!}` });
          await runToEnd('sync', []);
          sample(`${service} decide unchanged`, await timed('the decide step, unchanged', 'bash', ['infra/buildspecs/deploy-service.sh', '--step', 'decide'], { cwd: clone, env }));
          if ((await decision(clone)).CHANGED !== 'false') throw new Error(`the ${service} decide step found a change in a tree it had just recorded`);
          await stage.setSsm({ [parameters.deployedFingerprint(service)]: 'none', [parameters.deployedStack(service)]: 'none' });
          if (service === 'command') {
            const context = Object.entries(identity).flatMap(([key, value]) => ['-c', `${key}=${value}`]);
            // The CLI itself: npx is a stand-in on this PATH.
            sample('synth', await timed('cdk synth', join(clone, 'node_modules/.bin/cdk'), ['synth', 'CommandStack', '--exclusively', '--quiet', ...context, '-c', `commandImageTag=${decided.FINGERPRINT!}`, '-o', join(work, 'cdk.out')], { cwd: clone, env: { ...env, PATH: process.env.PATH } }));
          }
        }
      } finally {
        await stage.dispose();
      }
    }

    const row = (figure: string, values: readonly number[] | undefined, note: string): Row => ({
      group: 'pipeline',
      figure,
      ours: values ? seconds(median(values)) : null,
      baseline: null,
      unit: 's',
      ratio: null,
      budget: 'info',
      verdict: values ? 'info' : 'not measured',
      ...(values ? { spread: `median of ${values.length}, ${seconds(Math.min(...values))}–${seconds(Math.max(...values))} s` } : {}),
      note,
    });
    const sum = (a: readonly number[] | undefined, b: readonly number[] | undefined) => (a && b ? a.map((value, i) => value + b[i]!) : undefined);
    return [
      row('restore node_modules from the build cache (warm)', samples.restore, 'restore-deps.sh: the tarball a previous build stored for this lockfile, unpacked (the bucket is a folder here)'),
      row('decide, command, nothing changed', samples['command decide unchanged'], 'pin, one SSM read, the bundle, its fingerprint and the stack synth: then the run ends'),
      row('decide, query, nothing changed', samples['query decide unchanged'], 'the same for the query image (two bundles)'),
      row('the unchanged path on the build host, command (restore + decide)', sum(samples.restore, samples['command decide unchanged']), 'all a pipeline runs on Lambda compute before it ends'),
      row('decide, command, changed', samples['command decide changed'], 'the same work, then CHANGED=true for the ship stage'),
      row('decide, query, changed', samples['query decide changed'], ''),
      row('ship, command, image only (Docker and AWS as stand-ins)', samples['ship image only'], 'pin again, the bundles checked, the function swap and its waiter as calls; docker build and push not run here'),
      row('cdk synth of the command stack', samples.synth, 'the local part of `cdk deploy` when the stack changed'),
    ];
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** What the pipeline stack gives the query builds (the stand-ins default to the command's). */
const queryEnv = {
  SERVICE: 'query',
  STACK: 'QueryStack',
  REPOSITORY_URI: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/cqrs-es-query',
  FUNCTIONS: 'cqrs-es-query cqrs-es-projector',
  FINGERPRINT_PARAMETER: parameters.deployedFingerprint('query'),
  STACK_PARAMETER: parameters.deployedStack('query'),
  PINNED_PARAMETER: parameters.pinned('query'),
};
