import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import type { Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { CURRENTLY_RECOMMENDED_FLAGS, FAIL_SYNTH_ON_VALIDATION_ERRORS_CONTEXT } from 'aws-cdk-lib/cx-api';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import t from 'tap';
import { corsExposedHeaders, corsRequestHeaders } from '../src/shared/cors.ts';
import { accessLogFormat } from './lib/api-stack.ts';
import { connectionHeadroom, maxConnectionsAt } from './lib/data-stack.ts';
import { handlerPermissions, permissionsNotGranted } from './lib/handler-permissions.ts';
import { buildApp } from './lib/build-app.ts';
import { names, parameters } from './lib/names.ts';
import { projectContext } from './lib/project-context.ts';

/**
 * The infrastructure (ARCHITECTURE.md, infrastructure; DEPLOY.md), on the synthesized templates
 * (offline: no account, no Docker).
 */
const root = resolve(import.meta.dirname, '..');
const identity = { jwksUrl: 'https://idp.example/jwks.json', jwtIssuer: 'https://idp.example/', jwtAudience: 'chat' };
const source = { connectionArn: 'arn:aws:codeconnections:us-east-1:123456789012:connection/0a1b2c3d', sourceRepository: 'owner/repo' };
const nat = { natImageId: 'ami-0123456789abcdef0' };
const outdirs: string[] = [];

/** Synthesizes the app as the CLI would (cdk.json's context) plus `context`, into a fresh folder. */
async function synth(context: Record<string, string>, options: { nag?: boolean; expectErrors?: boolean } = {}) {
  const outdir = await mkdtemp(join(tmpdir(), 'cqrs-cdk-'));
  outdirs.push(outdir);
  // A stack missing its settings carries an error, which fails an in-process synth unless told
  // otherwise (the CLI fails only the stacks it was asked for).
  const reporting = options.expectErrors ? { [FAIL_SYNTH_ON_VALIDATION_ERRORS_CONTEXT]: false } : {};
  const app = new App({ outdir, context: { ...projectContext(root, context), ...reporting } });
  const stacks = buildApp(app);
  if (options.nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  app.synth();
  return { app, stacks, outdir };
}

let synthesized: Awaited<ReturnType<typeof synth>>;
let templates: Record<'data' | 'api' | 'command' | 'query' | 'pipelines', Template>;

t.before(async () => {
  synthesized = await synth({ ...identity, ...source, ...nat, useJwtAuthorizer: 'true' }, { nag: true });
  const { stacks } = synthesized;
  templates = {
    data: Template.fromStack(stacks.data),
    api: Template.fromStack(stacks.api),
    command: Template.fromStack(stacks.command),
    query: Template.fromStack(stacks.query),
    pipelines: Template.fromStack(stacks.pipelines),
  };
});
t.teardown(() => Promise.all(outdirs.map((dir) => rm(dir, { recursive: true, force: true }))));

type Resource = { Type: string; Properties?: Record<string, unknown>; Metadata?: unknown };
type Statement = { Action: string[]; Resource: unknown; Effect: string; Condition?: Record<string, Record<string, unknown>>; Sid?: string };
const resources = (template: Template, type: string) => Object.values(template.findResources(type)) as Resource[];
const all = () => Object.values(templates);
const functionNamed = (template: Template, name: string) => resources(template, 'AWS::Lambda::Function').find((fn) => fn.Properties?.FunctionName === name)!;
/** The service functions (container images); the data stack also holds CDK's own custom-resource function. */
const serviceFunctions = () => all().flatMap((template) => resources(template, 'AWS::Lambda::Function')).filter((fn) => fn.Properties?.PackageType === 'Image');
const variables = (fn: Resource) => (fn.Properties?.Environment as { Variables: Record<string, unknown> }).Variables;

/** The statements of a template's inline and managed policies, or of one construct's policies. */
function statements(template: Template, pathPart?: string): Statement[] {
  const documents = [
    ...Object.entries(template.findResources('AWS::IAM::Policy')).map(([id, policy]) => [id, policy.Properties.PolicyDocument] as const),
    ...Object.entries(template.findResources('AWS::IAM::ManagedPolicy')).map(([id, policy]) => [id, policy.Properties.PolicyDocument] as const),
  ];
  return documents
    .filter(([id]) => !pathPart || id.startsWith(pathPart))
    .flatMap(([, document]) => (document as { Statement: (Omit<Statement, 'Action'> & { Action: string | string[] })[] }).Statement)
    .map((s) => ({ ...s, Action: ([] as string[]).concat(s.Action) }));
}

/** The findings of the policy validation report (cdk-nag) that nothing acknowledged, one line each. */
async function openFindings(outdir: string): Promise<string[]> {
  const report = JSON.parse(await readFile(join(outdir, 'validation-report.json'), 'utf8')) as {
    pluginReports: { pluginName: string; violations?: { ruleName: string; severity: string; violatingConstructs: { constructPath?: string }[] }[] }[];
  };
  return report.pluginReports.flatMap((plugin) =>
    (plugin.violations ?? []).map((v) => `${v.severity} ${v.ruleName} at ${v.violatingConstructs.map((r) => r.constructPath).join(', ')}`),
  );
}

t.test('cdk-nag AwsSolutions: no finding on any stack that is not acknowledged with a reason in code', async (t) => {
  t.same(await openFindings(synthesized.outdir), [], 'errors and warnings alike');
  const acknowledged = JSON.stringify(synthesized.app.node.findAll().flatMap((c) => c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)));
  t.match(acknowledged, /AwsSolutions-IAM5/, 'acknowledgements are recorded on the constructs');
  for (const [, reason] of acknowledged.matchAll(/"AwsSolutions[^"]*":"([^"]*)"/g)) t.ok(reason!.length > 30, `a real reason: ${reason}`);
});

t.test('cdk.json carries every feature flag aws-cdk-lib recommends for new projects', async (t) => {
  const { context } = JSON.parse(await readFile(join(root, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
  for (const [flag, value] of Object.entries(CURRENTLY_RECOMMENDED_FLAGS)) t.same(context[flag], value, flag);
});

t.test('the events table: the keys of docs/events.md, NEW_IMAGE stream, PITR, deletion protection, retained', async (t) => {
  t.doesNotThrow(() =>
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
    }),
  );
});

t.test('Postgres: Aurora Serverless v2 down to 0 ACU with auto-pause, TLS forced, no proxy, credentials only in Secrets Manager', async (t) => {
  templates.data.hasResourceProperties('AWS::RDS::DBCluster', {
    Engine: 'aurora-postgresql',
    EngineVersion: Match.stringLikeRegexp('^16\\.'),
    ServerlessV2ScalingConfiguration: { MinCapacity: 0, MaxCapacity: 8, SecondsUntilAutoPause: 600 },
    DeletionProtection: true,
    StorageEncrypted: true,
  });
  const [minor] = /^16\.(\d+)$/.exec(String(resources(templates.data, 'AWS::RDS::DBCluster')[0]!.Properties!.EngineVersion))!.slice(1);
  t.ok(Number(minor) >= 3, 'Aurora PostgreSQL 16.3 or later is needed for 0 ACU');
  templates.data.hasResourceProperties('AWS::RDS::DBClusterParameterGroup', { Parameters: { 'rds.force_ssl': '1' } });
  templates.data.hasResourceProperties('AWS::SecretsManager::Secret', { Name: names.databaseSecret });
  templates.data.resourceCountIs('AWS::RDS::DBProxy', 0);
  templates.data.hasResourceProperties('AWS::SSM::Parameter', { Name: parameters.databaseSecretArn, Value: { Ref: Match.stringLikeRegexp('ProjectionsSecret') } });
  for (const [name, template] of Object.entries(templates)) {
    const text = JSON.stringify(template.toJSON());
    t.notMatch(text, /DATABASE_URL|postgres:\/\//, `${name}: no connection string anywhere`);
    // Only the cluster itself gets its password resolved at deploy time (by CloudFormation).
    if (name !== 'data') t.notMatch(text, /resolve:secretsmanager/, `${name}: no secret resolved into the template`);
  }
});

t.test('network: one NAT instance (t4g.nano), no NAT gateway, DynamoDB through a gateway endpoint', async (t) => {
  templates.data.resourceCountIs('AWS::EC2::NatGateway', 0);
  const instances = resources(templates.data, 'AWS::EC2::Instance');
  t.equal(instances.length, 1);
  t.equal(instances[0]!.Properties?.InstanceType, 't4g.nano');
  t.equal(instances[0]!.Properties?.SourceDestCheck, false, 'it forwards traffic');
  templates.data.hasResourceProperties('AWS::EC2::VPCEndpoint', { VpcEndpointType: 'Gateway', ServiceName: Match.anyValue() });
  const natIngress = resources(templates.data, 'AWS::EC2::SecurityGroup').flatMap((sg) => (sg.Properties?.SecurityGroupIngress as { CidrIp?: unknown }[] | undefined) ?? []);
  t.notOk(JSON.stringify(natIngress).includes('0.0.0.0/0'), 'nothing from the internet may send through it');
});

t.test('the NAT instance runs the pinned image: nothing resolves the latest Amazon Linux at deploy time', async (t) => {
  const [instance] = resources(templates.data, 'AWS::EC2::Instance');
  t.equal(instance!.Properties?.ImageId, nat.natImageId, 'the image of the natImageId setting');
  const text = JSON.stringify(templates.data.toJSON());
  t.notMatch(text, /ami-amazon-linux-latest|AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>/, 'no latest-AMI parameter');
  t.notMatch(JSON.stringify(templates.data.toJSON().Parameters ?? {}), /ami/i, 'no image parameter of any kind');
  const other = await synth({ ...identity, ...source, natImageId: 'ami-0fedcba9876543210' });
  t.equal(resources(Template.fromStack(other.stacks.data), 'AWS::EC2::Instance')[0]!.Properties?.ImageId, 'ami-0fedcba9876543210', 'a new image only when the setting changes');
});

t.test('a failed first deploy can be retried: no named resource outlives the rollback of its create, but the event log', async (t) => {
  type Policies = { DeletionPolicy?: string; UpdateReplacePolicy?: string };
  const named = Object.entries(templates.data.toJSON().Resources as Record<string, Resource & Policies>).filter(([, r]) => {
    const p = r.Properties ?? {};
    return ['TableName', 'RepositoryName', 'LogGroupName', 'Name', 'DBClusterIdentifier', 'TopicName'].some((key) => typeof p[key] === 'string');
  });
  const policies = (type: string) => named.filter(([, r]) => r.Type === type).map(([, r]) => [r.DeletionPolicy, r.UpdateReplacePolicy]);
  t.same(policies('AWS::ECR::Repository'), [['RetainExceptOnCreate', 'Retain'], ['RetainExceptOnCreate', 'Retain']], 'both image repositories: kept once created, deleted by a rollback of their create');
  t.same(
    named.filter(([, r]) => r.Type === 'AWS::Logs::LogGroup').map(([, r]) => [r.Properties?.LogGroupName, r.DeletionPolicy, r.UpdateReplacePolicy]),
    [['/aws/rds/cluster/cqrs-es-projections/postgresql', 'RetainExceptOnCreate', 'Retain']],
    'the database log group likewise',
  );
  // The table is under deletion protection, which a rollback cannot get past: it stays, empty,
  // and DEPLOY.md says how to clear or import it.
  t.same(
    named.filter(([, r]) => r.DeletionPolicy === 'Retain').map(([, r]) => r.Type),
    ['AWS::DynamoDB::Table'],
    'the events table is the one named resource a rollback leaves',
  );
});

t.test('Postgres connections: reserved concurrency × pool size of every database client fits max_connections at the maximum capacity, with headroom', async (t) => {
  const capacity = Number((resources(templates.data, 'AWS::RDS::DBCluster')[0]!.Properties?.ServerlessV2ScalingConfiguration as { MaxCapacity: number }).MaxCapacity);
  const maxConnections = maxConnectionsAt(capacity);
  const clients = serviceFunctions().filter((fn) => variables(fn).DATABASE_SECRET_ARN);
  t.same(clients.map((fn) => fn.Properties?.FunctionName).sort(), [names.projectorFunction, names.queryFunction], 'the query API and the projector');
  let connections = 0;
  for (const fn of clients) {
    const reserved = Number(fn.Properties?.ReservedConcurrentExecutions);
    const pool = Number(variables(fn).DATABASE_POOL_SIZE);
    t.ok(Number.isInteger(reserved) && reserved > 0, `${String(fn.Properties?.FunctionName)}: reserved concurrency ${reserved}`);
    t.ok(Number.isInteger(pool) && pool > 0, `${String(fn.Properties?.FunctionName)}: pool of ${pool} set by the stack, not left to a default`);
    connections += reserved * pool;
  }
  t.ok(
    connections <= maxConnections * (1 - connectionHeadroom),
    `${connections} connections at most, within ${Math.floor(maxConnections * (1 - connectionHeadroom))} (${maxConnections} at ${capacity} ACU less ${connectionHeadroom * 100} %)`,
  );
  // Lambda keeps 100 of an account's concurrency unreserved; the default limit is 1,000.
  const reservedInAll = serviceFunctions().reduce((sum, fn) => sum + Number(fn.Properties?.ReservedConcurrentExecutions ?? 0), 0);
  t.ok(reservedInAll + 100 <= 1000, `${reservedInAll} reserved in all: deployable under the default limit of 1,000 concurrent executions`);
  t.notOk(functionNamed(templates.command, names.commandFunction).Properties?.ReservedConcurrentExecutions, 'the command function holds no connections and reserves nothing');
});

t.test('every function is arm64 with active tracing', async (t) => {
  const functions = serviceFunctions();
  t.equal(functions.length, 3);
  for (const fn of functions) {
    t.same(fn.Properties?.Architectures, ['arm64']);
    t.same(fn.Properties?.TracingConfig, { Mode: 'Active' });
  }
});

t.test('functions: memory, timeouts past a database resume, the command one outside the VPC, the query ones inside', async (t) => {
  templates.command.hasResourceProperties('AWS::Lambda::Function', { FunctionName: names.commandFunction, MemorySize: 256, Timeout: 10, PackageType: 'Image' });
  t.notOk(functionNamed(templates.command, names.commandFunction).Properties?.VpcConfig, 'no VPC for the command function');
  templates.query.hasResourceProperties('AWS::Lambda::Function', { FunctionName: names.queryFunction, Timeout: 29 });
  templates.query.hasResourceProperties('AWS::Lambda::Function', { FunctionName: names.projectorFunction, Timeout: 60 });
  for (const name of [names.queryFunction, names.projectorFunction]) {
    templates.query.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: name,
      MemorySize: 256,
      VpcConfig: { SubnetIds: Match.anyValue(), SecurityGroupIds: Match.anyValue() },
    });
  }
});

t.test('environments: the settings each function needs and nothing more', async (t) => {
  const jwt = { JWT_JWKS_URL: identity.jwksUrl, JWT_ISSUER: identity.jwtIssuer, JWT_AUDIENCE: identity.jwtAudience };
  // Spans go to the X-Ray daemon Lambda runs beside a traced function, under the function's name.
  const traces = (functionName: string) => ({ OTEL_TRACES_EXPORTER: 'xray', OTEL_SERVICE_NAME: functionName });
  t.same(variables(functionNamed(templates.command, names.commandFunction)), { EVENTS_TABLE: names.eventsTable, ...jwt, ...traces(names.commandFunction) });
  const secretArn = { Ref: Match.stringLikeRegexp('databasesecretarn') };
  templates.query.hasResourceProperties('AWS::Lambda::Function', {
    FunctionName: names.queryFunction,
    Environment: {
      Variables: Match.exact({ EVENTS_TABLE: names.eventsTable, DATABASE_SECRET_ARN: secretArn, DATABASE_CONNECT_TIMEOUT_MS: '20000', DATABASE_POOL_SIZE: '2', ...jwt, ...traces(names.queryFunction) }),
    },
  });
  templates.query.hasResourceProperties('AWS::Lambda::Function', {
    FunctionName: names.projectorFunction,
    Environment: {
      Variables: Match.exact({
        EVENTS_TABLE: names.eventsTable,
        DATABASE_SECRET_ARN: secretArn,
        DATABASE_CONNECT_TIMEOUT_MS: '45000',
        DATABASE_POOL_SIZE: '2',
        AWS_LWA_READINESS_CHECK_PATH: '/projector/healthcheck',
        AWS_LWA_PASS_THROUGH_PATH: '/events',
        AWS_LWA_ERROR_STATUS_CODES: '201-599',
        ...traces(names.projectorFunction),
      }),
    },
  });
  t.pass('matched');
});

t.test('the first connection after a database pause waits for the resume, inside the function timeout', async (t) => {
  // Aurora Serverless v2 resumes from 0 ACU in about 15 s; the function must still have time to answer.
  const resume = 15_000;
  for (const name of [names.queryFunction, names.projectorFunction]) {
    const fn = functionNamed(templates.query, name);
    const connect = Number(variables(fn).DATABASE_CONNECT_TIMEOUT_MS);
    const timeout = Number(fn.Properties?.Timeout) * 1000;
    t.ok(connect >= resume + 5_000, `${name}: waits ${connect} ms for a connection, well past a ${resume} ms resume`);
    t.ok(timeout - connect >= 5_000, `${name}: and still has ${timeout - connect} ms of its ${timeout} ms to migrate and answer`);
  }
  t.ok(Number(functionNamed(templates.query, names.queryFunction).Properties?.Timeout) < 30, 'the query API answers before API Gateway gives up (30 s)');
});

t.test('AWS_LWA_ERROR_STATUS_CODES is set on the projector function alone: anything but 200 fails its invocation', async (t) => {
  const withIt = serviceFunctions().filter((fn) => variables(fn).AWS_LWA_ERROR_STATUS_CODES);
  t.same(
    withIt.map((fn) => [fn.Properties?.FunctionName, variables(fn).AWS_LWA_ERROR_STATUS_CODES]),
    [[names.projectorFunction, '201-599']],
  );
});

t.test('routes: each service its own, health checks outside the JWT authorizer, /events nowhere', async (t) => {
  for (const [service, health] of [['command', '/command/v1/healthcheck'], ['query', '/query/healthcheck']] as const) {
    for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) {
      templates[service].hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: `${method} /${service}/{proxy+}`, AuthorizationType: 'JWT' });
    }
    templates[service].hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: `GET ${health}`, AuthorizationType: 'NONE' });
    const keys = resources(templates[service], 'AWS::ApiGatewayV2::Route').map((route) => String(route.Properties?.RouteKey));
    // A preflight must match no route, so that API Gateway answers it (and not the authorizer).
    t.same(keys.filter((key) => /^(ANY|OPTIONS) /.test(key)), [], `no ${service} route takes ANY or OPTIONS`);
  }
  templates.api.hasResourceProperties('AWS::ApiGatewayV2::Stage', { StageName: '$default', DefaultRouteSettings: { ThrottlingRateLimit: 200, ThrottlingBurstLimit: 400 } });
  templates.api.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', { AuthorizerType: 'JWT', JwtConfiguration: { Audience: ['chat'], Issuer: 'https://idp.example/' } });
  templates.api.resourceCountIs('AWS::ApiGatewayV2::Route', 0);
  const routeKeys = all().flatMap((template) => resources(template, 'AWS::ApiGatewayV2::Route').map((route) => String(route.Properties?.RouteKey)));
  t.same(routeKeys.filter((key) => /events|\$default/.test(key)), [], 'no route reaches the projector');
  const integrations = resources(templates.query, 'AWS::ApiGatewayV2::Integration').map((i) => JSON.stringify(i.Properties?.IntegrationUri));
  t.ok(integrations.length > 0 && integrations.every((uri) => uri.includes('QueryFunction') && !uri.includes('Projector')), 'only the query API function is integrated');
});

t.test('CORS: none unless corsOrigins lists exact origins; then API Gateway answers preflights with the headers npm start uses', async (t) => {
  templates.api.hasResourceProperties('AWS::ApiGatewayV2::Api', { CorsConfiguration: Match.absent() });
  const origins = 'https://app.example.com,http://localhost:5173';
  const { stacks } = await synth({ ...identity, ...source, ...nat, corsOrigins: origins });
  Template.fromStack(stacks.api).hasResourceProperties('AWS::ApiGatewayV2::Api', {
    CorsConfiguration: {
      AllowOrigins: ['https://app.example.com', 'http://localhost:5173'],
      AllowMethods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
      AllowHeaders: [...corsRequestHeaders],
      ExposeHeaders: [...corsExposedHeaders],
      AllowCredentials: false,
      MaxAge: 600,
    },
  });
  for (const malformed of ['*', 'https://app.example.com/', 'https://App.example.com']) {
    const { stacks } = await synth({ ...identity, ...source, ...nat, corsOrigins: malformed }, { expectErrors: true });
    const errors = Annotations.fromStack(stacks.api).findError('*', Match.stringLikeRegexp('corsOrigins'));
    t.equal(errors.length, 1, `${malformed}: one error naming corsOrigins`);
  }
});

t.test('API access logs: one JSON line per request with request id, route, status, latency, integration error', async (t) => {
  const stage = resources(templates.api, 'AWS::ApiGatewayV2::Stage')[0]!;
  const settings = stage.Properties?.AccessLogSettings as { DestinationArn: unknown; Format: string };
  t.ok(settings.DestinationArn, 'to a log group');
  const format = JSON.parse(settings.Format) as Record<string, string>;
  t.same(format, accessLogFormat);
  for (const variable of ['$context.requestId', '$context.routeKey', '$context.status', '$context.responseLatency', '$context.integrationErrorMessage']) {
    t.ok(Object.values(format).includes(variable), variable);
  }
  templates.api.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
});

t.test('the projector consumes commit inserts: batch, bisect, partial failures, on-failure queue', async (t) => {
  t.doesNotThrow(() =>
    templates.query.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 100,
      ParallelizationFactor: 2,
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      MaximumRetryAttempts: 10,
      FilterCriteria: { Filters: [{ Pattern: JSON.stringify({ eventName: ['INSERT'], dynamodb: { Keys: { version: { N: [{ 'anything-but': ['0'] }] } } } }) }] },
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
      FunctionName: { Ref: Match.stringLikeRegexp('ProjectorFunction') },
    }),
  );
  t.doesNotThrow(() => templates.query.resourceCountIs('AWS::SQS::Queue', 1));
});

t.test('alarms: errors and throttles of each function, failed records, iterator age, all to the alarm topic', async (t) => {
  const alarms = all().flatMap((template) => resources(template, 'AWS::CloudWatch::Alarm'));
  const byName = new Map(alarms.map((alarm) => [alarm.Properties?.AlarmName as string, alarm.Properties!]));
  t.same(
    [...byName.keys()].sort(),
    [
      'cqrs-es-command-errors',
      'cqrs-es-command-throttles',
      'cqrs-es-query-errors',
      'cqrs-es-query-projector-errors',
      'cqrs-es-query-projector-failed-records',
      'cqrs-es-query-projector-iterator-age',
      'cqrs-es-query-projector-throttles',
      'cqrs-es-query-throttles',
    ],
  );
  t.has(byName.get('cqrs-es-query-projector-failed-records'), { MetricName: 'ApproximateNumberOfMessagesVisible', Namespace: 'AWS/SQS', Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
  t.has(byName.get('cqrs-es-query-projector-iterator-age'), { MetricName: 'IteratorAge', Namespace: 'AWS/Lambda', Threshold: 60_000 });
  // A batch may fail once while the database resumes (then its retry succeeds): the projector's
  // errors alarm waits for errors in two periods in a row; every other function's in one.
  t.has(byName.get('cqrs-es-query-projector-errors'), { MetricName: 'Errors', EvaluationPeriods: 2, DatapointsToAlarm: 2, Threshold: 0 });
  for (const name of ['cqrs-es-command-errors', 'cqrs-es-query-errors']) {
    t.has(byName.get(name), { MetricName: 'Errors', EvaluationPeriods: 1, Threshold: 0 }, name);
    t.notOk(byName.get(name)?.DatapointsToAlarm, `${name}: alarms on the first period with errors`);
  }
  t.match(JSON.stringify(byName.get('cqrs-es-query-projector-iterator-age')?.Dimensions), /"Name":"FunctionName","Value":\{"Ref":"ProjectorFunction/);
  for (const [name, alarm] of byName) t.match(JSON.stringify(alarm.AlarmActions), /cqrs-es-alarms/, `${name} notifies the topic`);
  templates.data.hasResourceProperties('AWS::SNS::Topic', { TopicName: names.alarmTopic });
  templates.command.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'cqrs-es-command' });
  templates.query.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'cqrs-es-query' });
});

t.test('no stack exports anything a service stack imports', async (t) => {
  for (const [name, template] of Object.entries(templates)) {
    t.same(Object.keys(template.toJSON().Outputs ?? {}).filter((key) => template.toJSON().Outputs[key].Export), [], `${name} has no exports`);
    t.notMatch(JSON.stringify(template.toJSON()), /Fn::ImportValue/, `${name} imports no exports`);
  }
  const read = JSON.stringify(templates.query.toJSON().Parameters);
  for (const parameter of [parameters.eventsStreamArn, parameters.databaseSecretArn, parameters.httpApiId, parameters.privateSubnetIds]) t.match(read, parameter);
});

t.test('least privilege on the event log and the database secret', async (t) => {
  const dynamoActions = (template: Template) => statements(template).flatMap((s) => s.Action.filter((a) => a.startsWith('dynamodb:')));
  t.same(new Set(dynamoActions(templates.command)), new Set(['dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:DescribeTable']));
  t.same(
    new Set(dynamoActions(templates.query)),
    new Set(['dynamodb:Query', 'dynamodb:DescribeTable', 'dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:ListStreams']),
  );
  for (const [name, template] of Object.entries(templates)) {
    for (const statement of statements(template)) {
      if (statement.Effect === 'Deny') continue;
      for (const action of statement.Action) {
        t.notOk(['dynamodb:*', '*', 'dynamodb:DeleteItem', 'dynamodb:UpdateItem', 'dynamodb:BatchWriteItem', 'dynamodb:DeleteTable'].includes(action), `${name}: ${action}`);
      }
      // CodePipeline assumes its own action roles; nothing assumes a role named by pattern.
      if (statement.Action.includes('sts:AssumeRole')) t.notMatch(JSON.stringify(statement.Resource), /role\/|\*/, `${name}: assumes only roles of its own stack`);
    }
  }
  t.same(statements(templates.query).filter((s) => s.Action.includes('dynamodb:PutItem')), [], 'the query side never writes the log');
  const secretReads = statements(templates.query).filter((s) => s.Action.some((a) => a.startsWith('secretsmanager:')));
  t.equal(secretReads.length, 2, 'the query and projector roles');
  for (const s of secretReads) {
    t.same(s.Action, ['secretsmanager:GetSecretValue']);
    t.match(JSON.stringify(s.Resource), /databasesecretarn/, 'exactly the secret the data stack published');
  }
  t.same(statements(templates.command).filter((s) => s.Action.some((a) => a.startsWith('secretsmanager:'))), [], 'the command side has no database');
});

t.test('service stack roles: under the service IAM path, with its permissions boundary, no managed policies', async (t) => {
  for (const [service, template] of [['command', templates.command], ['query', templates.query]] as const) {
    const roles = resources(template, 'AWS::IAM::Role');
    t.ok(roles.length > 0);
    for (const role of roles) {
      t.equal(role.Properties?.Path, names.rolePath(service));
      t.match(JSON.stringify(role.Properties?.PermissionsBoundary), `policy/${names.boundary(service)}`);
      t.notOk(role.Properties?.ManagedPolicyArns, 'no AWS managed policy');
    }
  }
});

t.test('images: the projector runs the query image with its own command; tagged images come from the service repository', async (t) => {
  const { stacks } = await synth({ ...identity, ...source, ...nat, commandImageTag: 'cmdfingerprint', queryImageTag: 'qryfingerprint' });
  const command = Template.fromStack(stacks.command);
  const query = Template.fromStack(stacks.query);
  t.match(JSON.stringify(command.findResources('AWS::Lambda::Function')), /cqrs-es-command:cmdfingerprint/);
  const projector = functionNamed(query, names.projectorFunction);
  const api = functionNamed(query, names.queryFunction);
  t.match(JSON.stringify(projector.Properties?.Code), /cqrs-es-query:qryfingerprint/);
  t.match(JSON.stringify(api.Properties?.Code), /cqrs-es-query:qryfingerprint/, 'one image for both');
  t.same(projector.Properties?.ImageConfig, { Command: ['/app/projector/index.mjs'] });
  t.notOk(api.Properties?.ImageConfig, 'the query API keeps the image CMD');
  const assetProjector = functionNamed(templates.query, names.projectorFunction);
  t.same(assetProjector.Properties?.ImageConfig, { Command: ['/app/projector/index.mjs'] }, 'the asset variant too');
});

t.test('a pipeline deploy: no bootstrap role, CloudFormation acts as the service deploy role, template inline', async (t) => {
  const { stacks, app } = await synth({ ...identity, ...source, ...nat, commandImageTag: 'cmdfingerprint', queryImageTag: 'qryfingerprint' });
  const assembly = app.synth();
  for (const [service, stack] of [['command', stacks.command], ['query', stacks.query]] as const) {
    const artifact = assembly.getStackByName(stack.stackName);
    t.notOk(artifact.assumeRoleArn, `${service}: the CLI deploys with the build role's own credentials`);
    t.equal(artifact.cloudFormationExecutionRoleArn, `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/${names.deployRole(service)}`);
    t.notOk(artifact.stackTemplateAssetObjectUrl, 'nothing uploaded to the bootstrap bucket');
    t.same(artifact.assets, [], 'no assets');
    t.ok(JSON.stringify(artifact.template).length < 45 * 1024, `the template stays well under the CLI's 50 KiB inline limit (${JSON.stringify(artifact.template).length} bytes)`);
  }
});

t.test('image assets (a deploy by hand) come from a small context', async (t) => {
  const assets = (await readdir(synthesized.outdir)).filter((entry) => entry.startsWith('asset.'));
  const contexts = await Promise.all(assets.map(async (asset) => (await readdir(join(synthesized.outdir, asset), { recursive: true })).sort()));
  const images = contexts.filter((files) => files.some((f) => f.startsWith('Dockerfile.')));
  t.equal(images.length, 2, 'one image asset per service');
  for (const files of images) {
    const service = files.includes('Dockerfile.command') ? 'command' : 'query';
    const bundles = service === 'command' ? ['command'] : ['query', 'projector'];
    t.same(files.filter((f) => !bundles.some((b) => f.startsWith(`dist/${b}`)) && f !== 'dist'), ['.dockerignore', `Dockerfile.${service}`], `${service}: the Dockerfile and its bundles`);
    t.notOk(files.some((f) => f.includes('node_modules')), 'no node_modules in the context');
  }
});

t.test('missing settings: one error on each stack that needs them, naming the keys; DataStack needs only the NAT image', async (t) => {
  const { stacks } = await synth({}, { expectErrors: true });
  const errors = (stack: Stack) => Annotations.fromStack(stack).findError('*', Match.anyValue()).map((m) => String(m.entry.data));
  t.match(errors(stacks.data), [/^DataStack: missing setting natImageId: pass -c natImageId=<AMI id/], 'DataStack: the NAT image, nothing else');
  t.notMatch(errors(stacks.data)[0], /\n/, 'one line');
  t.same(errors((await synth({ ...nat }, { expectErrors: true })).stacks.data), [], 'DataStack deploys with it alone');
  for (const stack of [stacks.api, stacks.command, stacks.query]) {
    const found = errors(stack);
    t.equal(found.length, 1, `${stack.stackName}: one error`);
    t.match(found[0], `${stack.stackName}: missing settings jwksUrl, jwtIssuer, jwtAudience: pass -c jwksUrl=`);
    t.notMatch(found[0], /\n/, 'one line');
  }
  t.match(errors(stacks.pipelines), [/missing settings connectionArn, sourceRepository/]);
  for (const stack of [stacks.command, stacks.query]) {
    t.notMatch(JSON.stringify(Template.fromStack(stack).toJSON()), /JWT_|example\.invalid/, 'no stand-in values');
  }
  Template.fromStack(stacks.pipelines).resourceCountIs('AWS::CodePipeline::Pipeline', 0);

  const malformed = await synth({ ...identity, ...source, ...nat, jwksUrl: 'http://idp.example/jwks.json', useJwtAuthorizer: 'yes' }, { expectErrors: true });
  t.match(errors(malformed.stacks.command), [/malformed jwksUrl \(https URL of the identity provider JWKS\), useJwtAuthorizer/]);
});

t.test('the ApiStack stores the settings the pipelines deploy the services with', async (t) => {
  for (const [key, value] of Object.entries({ ...identity, useJwtAuthorizer: 'true' })) {
    templates.api.hasResourceProperties('AWS::SSM::Parameter', { Name: `${parameters.settingsPath}${key}`, Value: value });
  }
  const { stacks } = await synth({ ...identity, ...source, ...nat });
  Template.fromStack(stacks.api).hasResourceProperties('AWS::SSM::Parameter', { Name: `${parameters.settingsPath}useJwtAuthorizer`, Value: 'false' });
  Template.fromStack(stacks.api).resourceCountIs('AWS::ApiGatewayV2::Authorizer', 0);
  t.match(JSON.stringify(Template.fromStack(stacks.command).findResources('AWS::ApiGatewayV2::Route')), /"AuthorizationType":"NONE"/);
});

t.test('one pipeline (V2) per service: Source, then Decide on Lambda compute, then Ship on arm64 with Docker only when Decide found a change', async (t) => {
  const pipelines = templates.pipelines.findResources('AWS::CodePipeline::Pipeline');
  for (const service of ['command', 'query']) {
    const pipeline = Object.values(pipelines).find((p) => p.Properties.Name === `cqrs-es-${service}`);
    t.equal(pipeline?.Properties.PipelineType, 'V2', `${service} pipeline`);
    type Stage = { Name: string; Actions: { Name: string; Namespace?: string; Configuration: Record<string, unknown> }[]; BeforeEntry?: unknown };
    const stages = pipeline!.Properties.Stages as Stage[];
    t.same(stages.map((stage) => stage.Name), ['Source', 'Decide', 'Ship']);
    const [, decide, ship] = stages as [Stage, Stage, Stage];
    t.equal(decide.Actions[0]!.Namespace, 'Decide', 'its variables are #{Decide.…}');
    t.same(
      ship.BeforeEntry,
      { Conditions: [{ Result: 'SKIP', Rules: [{ Name: `${service}Changed`, RuleTypeId: { Category: 'Rule', Owner: 'AWS', Provider: 'VariableCheck', Version: '1' }, Configuration: { Variable: '#{Decide.CHANGED}', Value: 'true', Operator: 'EQ' } }] }] },
      'Ship is skipped unless the decide step exported CHANGED=true',
    );
    t.same(JSON.parse(ship.Actions[0]!.Configuration.EnvironmentVariables as string), [{ name: 'EXPECTED_FINGERPRINT', type: 'PLAINTEXT', value: '#{Decide.FINGERPRINT}' }], 'Ship checks it ships what Decide fingerprinted');
    t.doesNotThrow(
      () =>
        templates.pipelines.hasResourceProperties('AWS::CodeBuild::Project', {
          Name: `cqrs-es-${service}-decide`,
          Environment: { Type: 'ARM_LAMBDA_CONTAINER', Image: 'aws/codebuild/amazonlinux-aarch64-lambda-standard:nodejs22', ComputeType: 'BUILD_LAMBDA_4GB' },
          Source: { BuildSpec: 'infra/buildspecs/decide.yml' },
        }),
      `${service} decide build`,
    );
    t.doesNotThrow(
      () =>
        templates.pipelines.hasResourceProperties('AWS::CodeBuild::Project', {
          Name: `cqrs-es-${service}-ship`,
          Environment: { Type: 'ARM_CONTAINER', PrivilegedMode: true },
          Source: { BuildSpec: 'infra/buildspecs/ship.yml' },
        }),
      `${service} ship build`,
    );
  }
});

t.test('the pipelines share a build cache that forgets and is written once per key, and take base images through a pull-through cache of ECR Public', async (t) => {
  templates.pipelines.resourceCountIs('AWS::S3::Bucket', 3);
  templates.pipelines.hasResourceProperties('AWS::S3::Bucket', {
    LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 30, Status: 'Enabled' })] },
    PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
  });
  templates.pipelines.hasResourceProperties('AWS::S3::BucketPolicy', {
    PolicyDocument: {
      Statement: Match.arrayWith([
        Match.objectLike({ Sid: 'WriteOnce', Effect: 'Deny', Action: 's3:PutObject', Condition: { Null: { 's3:if-none-match': 'true' } } }),
      ]),
    },
  });
  templates.pipelines.hasResourceProperties('AWS::ECR::PullThroughCacheRule', { EcrRepositoryPrefix: names.publicImageCache, UpstreamRegistryUrl: 'public.ecr.aws' });
  for (const service of ['command', 'query'] as const) {
    const ship = statements(templates.pipelines, `${service}ShipRole`);
    const pulls = ship.find((s) => s.Action.includes('ecr:BatchImportUpstreamImage'))!;
    t.match(JSON.stringify(pulls.Resource), `repository/${names.publicImageCache}/*`, `${service}: imports only into the cache's repositories`);
  }
});

t.test('the source action may use the connection under both service prefixes', async (t) => {
  for (const service of ['command', 'query']) {
    const granted = statements(templates.pipelines, `${service}SourceRole`).filter((s) => JSON.stringify(s.Resource) === JSON.stringify(source.connectionArn));
    t.same(new Set(granted.flatMap((s) => s.Action)), new Set(['codeconnections:UseConnection', 'codestar-connections:UseConnection']), service);
  }
  const older = await synth({ ...identity, ...source, ...nat, connectionArn: 'arn:aws:codestar-connections:eu-west-1:123456789012:connection/0a1b2c3d' });
  const text = JSON.stringify(Template.fromStack(older.stacks.pipelines).toJSON());
  t.match(text, /"Action":\["codeconnections:UseConnection","codestar-connections:UseConnection"\],"Effect":"Allow","Resource":"arn:aws:codestar-connections:/);
});

t.test('a build may deploy its own stack and nothing else; the decide build may deploy nothing', async (t) => {
  for (const service of ['command', 'query'] as const) {
    const build = statements(templates.pipelines, `${service}ShipRole`);
    t.ok(build.length > 0);
    const actions = build.flatMap((s) => s.Action);
    t.notOk(actions.includes('sts:AssumeRole'), 'assumes no role (no cdk-* bootstrap role)');
    t.notOk(JSON.stringify(build).includes('role/cdk-'), 'names no bootstrap role');
    for (const s of build.filter((s) => s.Action.some((a) => a.startsWith('cloudformation:')))) {
      t.match(JSON.stringify(s.Resource), new RegExp(`stack/${service === 'command' ? 'CommandStack' : 'QueryStack'}/\\*`), 'its own stack only');
      t.notMatch(JSON.stringify(s.Resource), new RegExp(`stack/(DataStack|ApiStack|PipelinesStack|${service === 'command' ? 'QueryStack' : 'CommandStack'})`));
    }
    const passRole = build.filter((s) => s.Action.includes('iam:PassRole'));
    t.equal(passRole.length, 1);
    t.match(JSON.stringify(passRole[0]!.Resource), new RegExp(`${service}DeployRole`), 'only its deploy role');
    t.same(passRole[0]!.Condition, { StringEquals: { 'iam:PassedToService': 'cloudformation.amazonaws.com' } });
    const writes = build.filter((s) => s.Action.includes('ssm:PutParameter'));
    t.same(
      writes.flatMap((s) => ([] as unknown[]).concat(s.Resource)).map((r) => JSON.stringify(r).match(/parameter\/cqrs-es\/([a-z/-]+)/)?.[1]).sort(),
      [`deployed-stack/${service}`, `deployed/${service}`],
      'records only its own fingerprints, and cannot unpin a rollback',
    );
    // An image-only deploy changes the code of its own functions, and nothing else about them.
    const lambda = build.filter((s) => s.Action.some((a) => a.startsWith('lambda:')));
    t.same(lambda.flatMap((s) => s.Action).sort(), ['lambda:GetFunction', 'lambda:UpdateFunctionCode']);
    t.same(
      lambda.flatMap((s) => s.Resource as unknown[]).map((r) => JSON.stringify(r).match(/function:([a-z-]+)/)?.[1]).sort(),
      [...names.functions[service]].sort(),
      'its own functions by name',
    );

    const decide = statements(templates.pipelines, `${service}DecideRole`);
    t.ok(decide.length > 0);
    const decideActions = decide.flatMap((s) => s.Action);
    t.notOk(decideActions.some((a) => /^(cloudformation|lambda|iam|ecr):|^ssm:PutParameter$/.test(a)), `${service}: the decide build reads settings and the cache, and changes nothing deployed`);
  }
});

t.test('a deploy role manages its stack resources and creates roles only under its boundary', async (t) => {
  for (const service of ['command', 'query'] as const) {
    templates.pipelines.hasResourceProperties('AWS::IAM::Role', {
      RoleName: names.deployRole(service),
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'cloudformation.amazonaws.com' } })] },
    });
    const deploy = statements(templates.pipelines, `${service}DeployRole`);
    const create = deploy.find((s) => s.Action.includes('iam:CreateRole'))!;
    t.match(JSON.stringify(create.Resource), `:role${names.rolePath(service)}*`);
    t.match(JSON.stringify(create.Condition), new RegExp(`iam:PermissionsBoundary.*${service}Boundary`));
    t.ok(deploy.some((s) => s.Effect === 'Deny' && s.Action.includes('iam:DeleteRolePermissionsBoundary') && s.Action.includes('iam:CreatePolicyVersion')), 'cannot drop or rewrite the boundary');
    const allowed = deploy.filter((s) => s.Effect === 'Allow');
    for (const s of allowed) {
      t.notOk(s.Action.some((a) => ['*', 'iam:*', 'iam:AttachRolePolicy', 'iam:CreateUser', 'iam:CreatePolicy', 'sts:AssumeRole'].includes(a)), `${service}: ${s.Sid} grants nothing account-wide`);
    }
    const lambda = allowed.find((s) => s.Sid === 'OwnFunctions')!;
    for (const fn of names.functions[service]) t.match(JSON.stringify(lambda.Resource), `function:${fn}`);
    const other = service === 'command' ? 'query' : 'command';
    t.notMatch(JSON.stringify(allowed), new RegExp(`function:cqrs-es-${other}|/cqrs-es/${other}/|cqrs-es-${other}-`), 'nothing of the other service');
    const boundary = statements(templates.pipelines, `${service}Boundary`);
    t.ok(boundary.length > 0);
    t.notOk(boundary.some((s) => s.Action.some((a) => a.startsWith('iam:') || a === '*' || a.endsWith(':*'))), 'the boundary grants no IAM and no service wildcard');
  }
});

/** Does an IAM action pattern (`lambda:*`, `ec2:Describe*`) cover `action`? */
const covers = (pattern: string, action: string) =>
  new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 'i').test(action);
const allowsAction = (policy: Statement[], action: string) => policy.some((s) => s.Effect === 'Allow' && s.Action.some((a) => covers(a, action)));
const deniesOutright = (policy: Statement[], action: string) => policy.some((s) => s.Effect === 'Deny' && !s.Condition && s.Action.some((a) => covers(a, action)));
const resourceTypes = (template: Template) => [...new Set(Object.values(template.toJSON().Resources as Record<string, { Type: string }>).map((r) => r.Type))].sort();
const serviceTemplates = () => [['command', templates.command], ['query', templates.query]] as const;

t.test('every call the resource handlers of a service stack make is granted to its deploy role, or left out with a reason', async (t) => {
  for (const [service, template] of serviceTemplates()) {
    const deploy = statements(templates.pipelines, `${service}DeployRole`);
    for (const type of resourceTypes(template)) {
      const handlers = handlerPermissions[type];
      if (!handlers) {
        t.fail(`${service}: ${type} has no handler permissions in infra/lib/handler-permissions.ts (copy them from its registry schema)`);
        continue;
      }
      for (const [operation, actions] of Object.entries(handlers)) {
        for (const action of actions) {
          const reason = permissionsNotGranted[action];
          if (reason) t.notOk(allowsAction(deploy, action) && !deniesOutright(deploy, action), `${service}: ${type} ${operation} ${action} is not granted: ${reason}`);
          else t.ok(allowsAction(deploy, action) && !deniesOutright(deploy, action), `${service}: ${type} ${operation} ${action}`);
        }
      }
    }
  }
  // The calls the audit of the first deploys found missing, by name.
  const query = statements(templates.pipelines, 'queryDeployRole');
  for (const action of ['iam:UpdateAssumeRolePolicy', 'iam:UpdateRole', 'iam:DetachRolePolicy', 'lambda:GetEventSourceMapping', 'apigateway:PUT', 'logs:GetDataProtectionPolicy', 'cloudwatch:TagResource']) {
    t.ok(allowsAction(query, action), action);
  }
});

t.test('a deploy role grants nothing its stack\'s resource handlers do not call (no lambda:*)', async (t) => {
  // Beyond the handlers: the template's SSM parameters are resolved as the deploy role, and
  // Lambda reads a function's image from ECR as its creator.
  const beyondHandlers = ['ssm:GetParameter', 'ssm:GetParameters', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:GetRepositoryPolicy'];
  for (const [service, template] of serviceTemplates()) {
    const needed = new Set([...resourceTypes(template).flatMap((type) => Object.values(handlerPermissions[type] ?? {}).flat()), ...beyondHandlers]);
    const granted = statements(templates.pipelines, `${service}DeployRole`).filter((s) => s.Effect === 'Allow').flatMap((s) => s.Action);
    t.same(granted.filter((action) => !needed.has(action)), [], `${service}: every action granted is one a handler calls`);
    t.notOk(granted.some((action) => action.includes('*')), `${service}: no action wildcard`);
  }
});

t.test('a push cannot open a function to anyone but API Gateway: no function URL, no other invoker', async (t) => {
  for (const [service] of serviceTemplates()) {
    const deploy = statements(templates.pipelines, `${service}DeployRole`);
    for (const action of ['lambda:CreateFunctionUrlConfig', 'lambda:UpdateFunctionUrlConfig']) {
      t.notOk(allowsAction(deploy, action), `${service}: ${action} is not granted`);
      t.ok(deniesOutright(deploy, action), `${service}: and is denied whatever else allows it`);
    }
    const addPermission = deploy.filter((s) => s.Action.includes('lambda:AddPermission'));
    t.same(
      addPermission.map((s) => [s.Effect, s.Condition]),
      [
        ['Allow', { StringEquals: { 'lambda:Principal': 'apigateway.amazonaws.com' } }],
        ['Deny', { StringNotEquals: { 'lambda:Principal': 'apigateway.amazonaws.com' } }],
      ],
      `${service}: AddPermission names API Gateway as the principal or is denied`,
    );
  }
});

t.test('the query deploy role: the projector\'s event source mapping, its failure queue and the network checks; the command one has no mapping or queue', async (t) => {
  const query = statements(templates.pipelines, 'queryDeployRole');
  // The projector and its versions (ArnLike), and no other function.
  const projector = /^\{"ArnLike":\{"lambda:FunctionArn":\[\{[^\]]*:function:cqrs-es-projector"\]\]\},\{[^\]]*:function:cqrs-es-projector:\*"\]\]\}\]\}\}$/;
  const create = query.find((s) => s.Action.includes('lambda:CreateEventSourceMapping'))!;
  t.same(create.Resource, '*', 'CreateEventSourceMapping takes no resource');
  t.match(JSON.stringify(create.Condition), projector, 'only for the projector');
  const changes = query.find((s) => s.Action.includes('lambda:UpdateEventSourceMapping'))!;
  t.same(changes.Action, ['lambda:DeleteEventSourceMapping', 'lambda:UpdateEventSourceMapping']);
  t.match(JSON.stringify(changes.Resource), /:event-source-mapping:\*/);
  t.match(JSON.stringify(changes.Condition), projector, 'changes only to the projector\'s mapping');
  const read = query.find((s) => s.Action.includes('lambda:GetEventSourceMapping'))!;
  t.notOk(read.Condition, 'reading a mapping is not conditional: it changes nothing');
  t.match(JSON.stringify(read.Resource), /:event-source-mapping:\*/);
  t.notOk(query.some((s) => s.Action.includes('lambda:ListEventSourceMappings')), 'no listing: CloudFormation does not list to deploy');
  t.ok(query.some((s) => s.Action.includes('sqs:CreateQueue')));
  t.ok(query.some((s) => s.Action.includes('ec2:DescribeSubnets')));
  const command = statements(templates.pipelines, 'commandDeployRole');
  t.notOk(command.some((s) => s.Action.some((a) => a.startsWith('sqs:') || a.includes('EventSourceMapping'))));
});

t.test('a statement on * added later to any role is reported by cdk-nag, not covered by an earlier acknowledgement', async (t) => {
  const outdir = await mkdtemp(join(tmpdir(), 'cqrs-cdk-'));
  outdirs.push(outdir);
  const app = new App({ outdir, context: projectContext(root, { ...identity, ...source, ...nat, useJwtAuthorizer: 'true' }) });
  const stacks = buildApp(app);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const later = () => new iam.PolicyStatement({ actions: ['dynamodb:GetItem'], resources: ['*'] });
  stacks.command.function.role!.addToPrincipalPolicy(later());
  stacks.query.projectorFunction.role!.addToPrincipalPolicy(later());
  stacks.pipelines.deployRoles.query.addToPrincipalPolicy(later());
  stacks.pipelines.boundaries.command.addStatements(later());
  t.throws(() => app.synth(), /Validation failed/);
  const open = await openFindings(outdir);
  for (const path of ['CommandStack/FunctionRole/DefaultPolicy/Resource', 'QueryStack/ProjectorFunctionRole/DefaultPolicy/Resource', 'PipelinesStack/queryDeployRole/DefaultPolicy/Resource']) {
    t.ok(open.some((finding) => finding.includes('AwsSolutions-IAM5[Resource::*]') && finding.includes(path)), `reported at ${path}`);
  }
  // A permissions boundary is one managed policy, so its acknowledged * covers the whole of it:
  // the next test pins its statements on * instead.
  t.notOk(open.some((finding) => finding.includes('commandBoundary')), 'a boundary is pinned by a test instead');
});

t.test('permissions boundaries: their statements on * are exactly these', async (t) => {
  const onAnything = (service: string) =>
    statements(templates.pipelines, `${service}Boundary`)
      .filter((s) => s.Resource === '*')
      .map((s) => `${s.Sid}: ${s.Action.join(' ')}`);
  t.same(onAnything('command'), ['Tracing: xray:GetSamplingRules xray:GetSamplingTargets xray:PutTelemetryRecords xray:PutTraceSegments']);
  t.same(onAnything('query'), [
    'Tracing: xray:GetSamplingRules xray:GetSamplingTargets xray:PutTelemetryRecords xray:PutTraceSegments',
    'ListStreams: dynamodb:ListStreams',
    'VpcAttachment: ec2:AssignPrivateIpAddresses ec2:CreateNetworkInterface ec2:DeleteNetworkInterface ec2:DescribeNetworkInterfaces ec2:DescribeSubnets ec2:UnassignPrivateIpAddresses',
  ]);
});
