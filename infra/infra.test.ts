import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import t from 'tap';
import { buildApp } from './lib/build-app.ts';
import { names, parameters } from './lib/names.ts';
import { imageBundles } from './lib/service-image.ts';

/** SPEC §7, on the synthesized templates (offline: no account, no Docker). */
let outdir: string;
let stacks: ReturnType<typeof buildApp>;
let templates: Record<'data' | 'api' | 'command' | 'query' | 'pipelines', Template>;

t.before(async () => {
  outdir = await mkdtemp(join(tmpdir(), 'cqrs-cdk-'));
  const app = new App({ outdir, context: { useJwtAuthorizer: 'true', jwksUrl: 'https://idp.example/jwks.json', jwtIssuer: 'https://idp.example/', jwtAudience: 'chat' } });
  stacks = buildApp(app);
  app.synth();
  templates = {
    data: Template.fromStack(stacks.data),
    api: Template.fromStack(stacks.api),
    command: Template.fromStack(stacks.command),
    query: Template.fromStack(stacks.query),
    pipelines: Template.fromStack(stacks.pipelines),
  };
});
t.teardown(() => rm(outdir, { recursive: true, force: true }));

type Resource = { Type: string; Properties?: Record<string, unknown> };
const resources = (template: Template, type: string) => Object.values(template.findResources(type)) as Resource[];
const all = () => Object.values(templates);

t.test('the events table: keys of SPEC §3, NEW_IMAGE stream, PITR, deletion protection, retained', async () => {
  templates.data.hasResource('AWS::DynamoDB::Table', {
    Properties: {
      TableName: names.eventsTable,
      KeySchema: [
        { AttributeName: 'streamId', KeyType: 'HASH' },
        { AttributeName: 'version', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: Match.arrayWith([
        { AttributeName: 'streamId', AttributeType: 'S' },
        { AttributeName: 'version', AttributeType: 'N' },
      ]),
      StreamSpecification: { StreamViewType: 'NEW_IMAGE' },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
    },
    DeletionPolicy: 'Retain',
    UpdateReplacePolicy: 'Retain',
  });
});

t.test('Postgres: Aurora Serverless v2 in the VPC, secret in Secrets Manager, behind an RDS Proxy', async (t) => {
  templates.data.hasResourceProperties('AWS::RDS::DBCluster', { Engine: 'aurora-postgresql', ServerlessV2ScalingConfiguration: Match.anyValue(), DeletionProtection: true });
  templates.data.hasResourceProperties('AWS::SecretsManager::Secret', { Name: names.databaseSecret });
  templates.data.hasResourceProperties('AWS::RDS::DBProxy', { EngineFamily: 'POSTGRESQL', RequireTLS: true });
  t.equal(resources(templates.data, 'AWS::EC2::VPC').length, 1);
});

t.test('every function is arm64', async (t) => {
  const functions = all().flatMap((template) => resources(template, 'AWS::Lambda::Function'));
  t.equal(functions.length, 3);
  for (const fn of functions) t.same(fn.Properties?.Architectures, ['arm64']);
});

t.test('functions: memory, timeouts, the command one outside the VPC, the query ones inside', async (t) => {
  templates.command.hasResourceProperties('AWS::Lambda::Function', { FunctionName: names.commandFunction, MemorySize: 256, Timeout: 10, PackageType: 'Image' });
  const command = resources(templates.command, 'AWS::Lambda::Function')[0]!;
  t.notOk(command.Properties?.VpcConfig, 'no VPC for the command function');
  for (const name of [names.queryFunction, names.projectorFunction]) {
    templates.query.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: name,
      MemorySize: 256,
      VpcConfig: { SubnetIds: Match.anyValue(), SecurityGroupIds: Match.anyValue() },
    });
  }
});

t.test('AWS_LWA_ERROR_STATUS_CODES is set on the projector function alone', async (t) => {
  const functions = all().flatMap((template) => resources(template, 'AWS::Lambda::Function'));
  const withIt = functions.filter((fn) => (fn.Properties?.Environment as { Variables?: Record<string, unknown> })?.Variables?.AWS_LWA_ERROR_STATUS_CODES);
  t.same(
    withIt.map((fn) => [fn.Properties?.FunctionName, (fn.Properties?.Environment as { Variables: Record<string, unknown> }).Variables.AWS_LWA_ERROR_STATUS_CODES]),
    [[names.projectorFunction, '500-599']],
  );
});

t.test('routes: each service its own, health checks outside the JWT authorizer', async () => {
  templates.command.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'ANY /command/{proxy+}', AuthorizationType: 'JWT' });
  templates.command.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'GET /command/v1/healthcheck', AuthorizationType: 'NONE' });
  templates.query.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'ANY /query/{proxy+}', AuthorizationType: 'JWT' });
  templates.query.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'GET /query/healthcheck', AuthorizationType: 'NONE' });
  templates.api.hasResourceProperties('AWS::ApiGatewayV2::Stage', { StageName: '$default', DefaultRouteSettings: { ThrottlingRateLimit: 200, ThrottlingBurstLimit: 400 } });
  templates.api.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', { AuthorizerType: 'JWT', JwtConfiguration: { Audience: ['chat'], Issuer: 'https://idp.example/' } });
  templates.api.resourceCountIs('AWS::ApiGatewayV2::Route', 0);
});

t.test('the projector consumes commit inserts: batch, bisect, partial failures, on-failure queue', async () => {
  templates.query.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
    StartingPosition: 'TRIM_HORIZON',
    BatchSize: 100,
    ParallelizationFactor: 2,
    BisectBatchOnFunctionError: true,
    FunctionResponseTypes: ['ReportBatchItemFailures'],
    MaximumRetryAttempts: 10,
    FilterCriteria: { Filters: [{ Pattern: JSON.stringify({ eventName: ['INSERT'] }) }] },
    DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
  });
  templates.query.resourceCountIs('AWS::SQS::Queue', 1);
});

t.test('no stack exports anything a service stack imports', async (t) => {
  for (const [name, template] of Object.entries(templates)) {
    t.same(Object.keys(template.toJSON().Outputs ?? {}).filter((key) => template.toJSON().Outputs[key].Export), [], `${name} has no exports`);
    t.notMatch(JSON.stringify(template.toJSON()), /Fn::ImportValue/, `${name} imports no exports`);
  }
  const read = JSON.stringify(templates.query.toJSON().Parameters);
  for (const parameter of [parameters.eventsStreamArn, parameters.databaseProxyEndpoint, parameters.httpApiId]) t.match(read, parameter);
});

/** All IAM statements of a template, with actions as arrays. */
function statements(template: Template) {
  return resources(template, 'AWS::IAM::Policy').flatMap((policy) =>
    ((policy.Properties?.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown; Effect: string }[] }).Statement ?? []).map((s) => ({
      ...s,
      Action: ([] as string[]).concat(s.Action),
    })),
  );
}

t.test('least privilege on the event log', async (t) => {
  const dynamoActions = (template: Template) => statements(template).flatMap((s) => s.Action.filter((a) => a.startsWith('dynamodb:')));
  t.same(new Set(dynamoActions(templates.command)), new Set(['dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:DescribeTable']));
  t.same(
    new Set(dynamoActions(templates.query)),
    new Set(['dynamodb:Query', 'dynamodb:DescribeTable', 'dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:ListStreams']),
  );
  for (const [name, template] of Object.entries(templates)) {
    for (const statement of statements(template)) {
      for (const action of statement.Action) {
        t.notOk(['dynamodb:*', '*', 'dynamodb:DeleteItem', 'dynamodb:UpdateItem', 'dynamodb:BatchWriteItem', 'dynamodb:DeleteTable'].includes(action), `${name}: ${action}`);
      }
    }
  }
  const queryPuts = statements(templates.query).filter((s) => s.Action.includes('dynamodb:PutItem'));
  t.same(queryPuts, [], 'the query side never writes the log');
});

t.test('service images: an asset from a small context, or the pipeline tag', async (t) => {
  const assets = (await readdir(outdir)).filter((entry) => entry.startsWith('asset.'));
  t.equal(assets.length, 2, 'one image asset per service');
  const contexts = await Promise.all(assets.map(async (asset) => (await readdir(join(outdir, asset), { recursive: true })).sort()));
  for (const files of contexts) {
    const service = files.includes('Dockerfile.command') ? 'command' : 'query';
    const own = (f: string) => imageBundles[service].some((bundle) => f === `dist/${bundle}` || f.startsWith(`dist/${bundle}/`));
    t.same(files.filter((f) => !own(f) && f !== 'dist'), ['.dockerignore', `Dockerfile.${service}`], `${service}: the context is the Dockerfile and its bundles`);
    t.notOk(files.some((f) => f.includes('node_modules')), 'no node_modules in the context');
  }

  const tagged = new App({ outdir: await mkdtemp(join(tmpdir(), 'cqrs-cdk-tag-')), context: { commandImageTag: 'abc123fingerprint' } });
  const { command } = buildApp(tagged);
  const image = JSON.stringify(Template.fromStack(command).findResources('AWS::Lambda::Function'));
  t.match(image, /cqrs-es-command:abc123fingerprint/, 'the function runs the tagged image from its repository');
});

t.test('one pipeline (V2) per service, CodeBuild on arm64 with its buildspec from the repository', async () => {
  for (const service of ['command', 'query']) {
    templates.pipelines.hasResourceProperties('AWS::CodePipeline::Pipeline', { Name: `cqrs-es-${service}`, PipelineType: 'V2' });
    templates.pipelines.hasResourceProperties('AWS::CodeBuild::Project', {
      Name: `cqrs-es-${service}`,
      Environment: { Type: 'ARM_CONTAINER', PrivilegedMode: true },
      Source: { BuildSpec: `infra/buildspecs/${service}.yml` },
    });
  }
});
