/**
 * Stand-ins for the commands infra/buildspecs/deploy-service.sh calls (aws, docker, npx), for
 * running its steps without AWS or Docker: each records its calls, and aws and npx act on a small
 * model of what they change (SSM parameters, the image each function runs). The pipeline tests run
 * the script against them; `npm run bench -- --only pipeline` times its steps with them.
 */
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { names, parameters, stackIds } from '../../infra/lib/names.ts';
import { childEnv } from '../../src/testing/child-env.ts';
import { runToEnd } from '../../src/testing/run-to-end.ts';

export interface Stand {
  /** SSM parameters the stand-in aws answers with (name → value). */
  readonly ssm: Record<string, string>;
  /** Make `aws ssm get-parameter` of the pin fail as if access were denied. */
  readonly pinDenied?: boolean;
  /** Make `aws ssm get-parameters-by-path` fail as if access were denied. */
  readonly parametersDenied?: boolean;
  /** The image of this fingerprint is already in ECR (`cannot tell`: the lookup itself fails). */
  readonly imageExists?: boolean | 'cannot tell';
  /** The image each function runs (function → image URI); absent functions do not exist yet. */
  readonly functions?: Record<string, string>;
  /**
   * What `cdk deploy` does to the functions: `sets-image` (the tag of its template), `keeps-image`
   * (CloudFormation saw no change of tag), `fails` (rolls back to an image of its own, exits 1).
   */
  readonly cdk?: 'sets-image' | 'keeps-image' | 'fails';
  /** A folder standing in for the build cache bucket (`aws s3 cp` to and from it). */
  readonly bucket?: string;
  /** update-function-code of this function fails. */
  readonly updateFails?: string;
  readonly env?: Record<string, string>;
}

/** The identity settings of the stand-in account (what the ApiStack stores under /cqrs-es/settings/). */
export const identity = { jwksUrl: 'https://idp.example/.well-known/jwks.json', jwtIssuer: 'https://idp.example/', jwtAudience: 'chat api' };
/** The ids of shared resources the service stacks resolve at deploy time, as SSM holds them. */
export const ssmIds: Record<string, string> = {
  [parameters.httpApiId]: 'a1b2c3',
  [parameters.privateSubnetIds]: 'subnet-1,subnet-2',
  [parameters.databaseClientSecurityGroupId]: 'sg-1',
  [parameters.eventsStreamArn]: 'arn:aws:dynamodb:eu-west-1:123456789012:table/cqrs-es-events/stream/2026',
  [parameters.databaseSecretArn]: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:cqrs-es/projections-db-AbCdEf',
};
/** The identity settings as SSM parameters. */
export const settingsParameters: Record<string, string> = Object.fromEntries(Object.entries(identity).map(([key, value]) => [`${parameters.settingsPath}${key}`, value]));

export const repositoryUri = `123456789012.dkr.ecr.eu-west-1.amazonaws.com/${names.repository('command')}`;

/** What the pipeline stack gives the command builds (pipelines-stack.ts, from names.ts). */
export const pipelineEnv = {
  SERVICE: 'command',
  STACK: stackIds.command,
  REPOSITORY_URI: repositoryUri,
  FUNCTIONS: names.functions.command.join(' '),
  FINGERPRINT_PARAMETER: parameters.deployedFingerprint('command'),
  STACK_PARAMETER: parameters.deployedStack('command'),
  PINNED_PARAMETER: parameters.pinned('command'),
  BASE_REGISTRY: `123456789012.dkr.ecr.eu-west-1.amazonaws.com/${names.publicImageCache}`,
};

/**
 * Stand-ins for aws, docker and npx that record their calls, with a small model of the state they
 * act on (SSM parameters, the functions' images). `run` runs one step of the deploy script (or
 * `npm run deploy -- <args>` by hand) in the archive; state carries over from run to run.
 */
export async function standIns(stand: Stand & { readonly cwd: string }) {
  const bin = await mkdtemp(join(tmpdir(), 'cqrs-fake-bin-'));
  const log = join(bin, 'calls.log');
  const ssm = join(bin, 'ssm.json');
  const functions = join(bin, 'functions.json');
  await writeFile(ssm, JSON.stringify(stand.ssm));
  await writeFile(functions, JSON.stringify(stand.functions ?? Object.fromEntries(names.functions.command.map((fn) => [fn, `${repositoryUri}:an-older-fingerprint`]))));
  const fake = (name: string, body: string) =>
    writeFile(join(bin, name), `#!/usr/bin/env bash\nprintf '%s\\n' "${name} $*" >> "${log}"\n${body}\n`).then(() => chmod(join(bin, name), 0o755));
  const json = (file: string, code: string) => `node -e 'const fs = require("fs"); const file = process.argv[1]; const state = JSON.parse(fs.readFileSync(file, "utf8")); const args = process.argv.slice(2); ${code}' "${file}"`;
  await fake(
    'aws',
    `case "$1 $2" in
      "ssm get-parameter")
        ${stand.pinDenied ? 'echo "An error occurred (AccessDeniedException) when calling the GetParameter operation" >&2; exit 254' : ''}
        ${json(ssm, 'const v = state[args[0]]; if (v === undefined) { console.error("An error occurred (ParameterNotFound) when calling the GetParameter operation: Parameter " + args[0] + " not found."); process.exit(254) } console.log(v)')} "$4" ;;
      "ssm get-parameters-by-path")
        ${stand.parametersDenied ? 'echo "An error occurred (AccessDeniedException) when calling the GetParametersByPath operation" >&2; exit 254' : ''}
        ${json(ssm, 'console.log(JSON.stringify(Object.entries(state).filter(([n]) => n.startsWith(args[0])).map(([Name, Value]) => ({ Name, Value, Type: "String" }))))')} "$4" ;;
      "ssm put-parameter") ${json(ssm, 'const at = (k) => args[args.indexOf(k) + 1]; state[at("--name")] = at("--value"); fs.writeFileSync(file, JSON.stringify(state))')} "$@" ;;
      "sts get-caller-identity") echo 123456789012 ;;
      "ecr get-login-password") echo secret ;;
      "ecr describe-images") ${stand.imageExists === 'cannot tell' ? 'echo "An error occurred (ThrottlingException) when calling the DescribeImages operation: Rate exceeded" >&2; exit 254' : stand.imageExists ? 'exit 0' : 'echo "An error occurred (ImageNotFoundException) when calling the DescribeImages operation: The image with imageId {imageTag:$6} does not exist" >&2; exit 254'} ;;
      "lambda get-function")
        ${json(functions, 'const v = state[args[0]]; if (v === undefined) { console.error("An error occurred (ResourceNotFoundException) when calling the GetFunction operation: Function not found"); process.exit(254) } console.log(v)')} "$4" ;;
      "lambda update-function-code")
        if [ "$4" = "${stand.updateFails ?? ''}" ]; then echo "An error occurred (InvalidParameterValueException) when calling the UpdateFunctionCode operation" >&2; exit 254; fi
        ${json(functions, 'state[args[0]] = args[1]; fs.writeFileSync(file, JSON.stringify(state)); console.log("InProgress")')} "$4" "$6" ;;
      "lambda wait") ;;
      "s3 cp")
        bucket="${stand.bucket ?? '/nonexistent'}"
        if [ "$4" = - ]; then key="\${3#s3://*/}"; [ -f "$bucket/$key" ] || { echo "fatal error: An error occurred (404) when calling the HeadObject operation: Not Found" >&2; exit 1; }; cat "$bucket/$key"
        else key="\${4#s3://*/}"; mkdir -p "$(dirname "$bucket/$key")"; cat > "$bucket/$key"; fi ;;
      "s3api put-object")
        # --bucket B --key K --body F [--if-none-match '*']: an existing key refuses a conditional write
        bucket="${stand.bucket ?? '/nonexistent'}"; key=$6; body=$8
        if [ "\${9:-}" = --if-none-match ] && [ -f "$bucket/$key" ]; then echo "An error occurred (PreconditionFailed) when calling the PutObject operation: At least one of the pre-conditions you specified did not hold" >&2; exit 254; fi
        mkdir -p "$(dirname "$bucket/$key")"; cp "$body" "$bucket/$key" ;;
      *) echo "unexpected aws call: $*" >&2; exit 2 ;;
    esac`,
  );
  // docker build also records what the image would hold: the hash of each bundle in dist/.
  await fake('docker', `if [ "$1" = build ]; then for f in dist/*/index.mjs; do printf 'image holds %s %s\\n' "$f" "$(sha256sum "$f" | cut -d' ' -f1)" >> "${log}"; done; fi\ncat > /dev/null || true`);
  // cdk deploy acts on the functions as CloudFormation would.
  const cdk = stand.cdk ?? 'sets-image';
  await fake(
    'npx',
    cdk === 'keeps-image'
      ? 'exit 0'
      : json(
          functions,
          `const tag = args.find((a) => a.startsWith("commandImageTag=")).split("=")[1];
           for (const fn of ${JSON.stringify(names.functions.command)}) state[fn] = "${repositoryUri}:" + (${cdk === 'fails'} ? "what-cloudformation-deployed-last" : tag);
           fs.writeFileSync(file, JSON.stringify(state)); process.exit(${cdk === 'fails' ? 1 : 0})`,
        ) + ' "$@"',
  );
  /** The environment a pipeline's build (or, `byHand`, a person) runs the scripts with, stand-ins first on the PATH. */
  const environment = (how: { byHand?: unknown; env?: Record<string, string> } = {}) => {
    const extra = { ...stand.env, ...how.env };
    const env = childEnv({ PATH: `${bin}:${process.env.PATH}`, AWS_REGION: 'eu-west-1', ...(how.byHand ? {} : pipelineEnv), ...extra });
    for (const key of ['AWS_DEFAULT_REGION', 'PIN_REASON', 'EXPECTED_FINGERPRINT', ...(how.byHand ? Object.keys(pipelineEnv) : [])]) if (!extra[key]) delete env[key];
    return env;
  };
  const run = async (how: { step?: 'decide' | 'ship'; byHand?: readonly string[]; env?: Record<string, string> }) => {
    const env = environment(how);
    const [command, args] = how.byHand
      ? ['npm', ['run', '-s', 'deploy', '--', ...how.byHand]]
      : ['bash', ['infra/buildspecs/deploy-service.sh', ...(how.step ? ['--step', how.step] : [])]];
    return runToEnd(command, args, { cwd: stand.cwd, env });
  };
  return {
    run,
    /** The folder the stand-ins are in (first on the PATH of `run`). */
    bin,
    environment,
    dispose: () => rm(bin, { recursive: true, force: true }),
    calls: () => readFile(log, 'utf8').then((text) => text.trim().split('\n'), () => [] as string[]),
    functions: async () => JSON.parse(await readFile(functions, 'utf8')) as Record<string, string>,
    ssm: async () => JSON.parse(await readFile(ssm, 'utf8')) as Record<string, string>,
    /** Sets SSM parameters, as someone else's deploy would have. */
    setSsm: async (values: Record<string, string>) => writeFile(ssm, JSON.stringify({ ...(JSON.parse(await readFile(ssm, 'utf8')) as Record<string, string>), ...values })),
  };
}

