import { Duration, Fn, Stack } from 'aws-cdk-lib';
import type { StackProps } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import type { Construct } from 'constructs';
import { identityEnvironment } from './identity.ts';
import type { IdentitySettings } from './identity.ts';
import { names, parameters } from './names.ts';
import { serviceImage } from './service-image.ts';
import { addServiceRoutes } from './service-routes.ts';

export interface QueryStackProps extends StackProps {
  readonly imageTag?: string;
  readonly identity: IdentitySettings;
  readonly useJwtAuthorizer?: boolean;
}

/**
 * The query service: the query API function and the projector function, one image, both in the
 * VPC next to Postgres. The projector consumes the events table's stream.
 */
export class QueryStack extends Stack {
  readonly queryFunction: lambda.DockerImageFunction;
  readonly projectorFunction: lambda.DockerImageFunction;

  constructor(scope: Construct, id: string, props: QueryStackProps) {
    super(scope, id, props);
    const read = (name: string) => ssm.StringParameter.valueForStringParameter(this, name);
    // The functions join the VPC through subnet ids and a security group read from SSM: the
    // only parts of the network their template needs.
    const subnetIds = Fn.split(',', read(parameters.privateSubnetIds), 2);
    const databaseClients = read(parameters.databaseClientSecurityGroupId);
    const tableArn = this.formatArn({ service: 'dynamodb', resource: 'table', resourceName: names.eventsTable });
    const streamArn = read(parameters.eventsStreamArn);
    const secret = (field: string) => `{{resolve:secretsmanager:${names.databaseSecret}:SecretString:${field}}}`;
    // TLS to the RDS Proxy; the credentials are resolved from Secrets Manager at deploy time.
    const databaseUrl = Fn.join('', [
      `postgres://${secret('username')}:${secret('password')}@`,
      read(parameters.databaseProxyEndpoint),
      `:5432/${names.databaseName}?sslmode=require`,
    ]);
    const code = serviceImage(this, 'query', props.imageTag);
    const environment = {
      EVENTS_TABLE: names.eventsTable,
      DATABASE_URL: databaseUrl,
      ...identityEnvironment(props.identity),
    };
    const common = { code, architecture: lambda.Architecture.ARM_64 };
    const joinVpc = (fn: lambda.Function) =>
      (fn.node.defaultChild as lambda.CfnFunction).addPropertyOverride('VpcConfig', { SubnetIds: subnetIds, SecurityGroupIds: [databaseClients] });
    const readLog = new iam.PolicyStatement({ actions: ['dynamodb:Query', 'dynamodb:DescribeTable'], resources: [tableArn] });

    const queryRole = functionRole(this, 'QueryRole');
    queryRole.addToPolicy(readLog);
    this.queryFunction = new lambda.DockerImageFunction(this, 'QueryFunction', {
      ...common,
      functionName: names.queryFunction,
      memorySize: 256,
      timeout: Duration.seconds(10),
      role: queryRole,
      environment,
      logGroup: new logs.LogGroup(this, 'QueryLogs', { retention: logs.RetentionDays.ONE_MONTH }),
    });
    joinVpc(this.queryFunction);

    const projectorRole = functionRole(this, 'ProjectorRole');
    projectorRole.addToPolicy(readLog);
    projectorRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:ListStreams'],
        resources: [streamArn],
      }),
    );
    this.projectorFunction = new lambda.DockerImageFunction(this, 'ProjectorFunction', {
      ...common,
      functionName: names.projectorFunction,
      memorySize: 256,
      timeout: Duration.seconds(60),
      role: projectorRole,
      // Only here: an unexpected 500 from /events fails the invocation, so Lambda retries and
      // bisects instead of taking the body as a success and dropping the batch.
      environment: { ...environment, AWS_LWA_ERROR_STATUS_CODES: '500-599' },
      logGroup: new logs.LogGroup(this, 'ProjectorLogs', { retention: logs.RetentionDays.ONE_MONTH }),
    });
    joinVpc(this.projectorFunction);

    const failures = new sqs.Queue(this, 'ProjectorFailures', {
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
    });
    new lambda.EventSourceMapping(this, 'EventsStream', {
      target: this.projectorFunction,
      eventSourceArn: streamArn,
      startingPosition: lambda.StartingPosition.TRIM_HORIZON,
      // Commits are small and each applies in its own transaction: 100 per batch keeps an
      // invocation well inside its timeout while amortising the cold start.
      batchSize: 100,
      maxBatchingWindow: Duration.seconds(0),
      // Records of one stream id (the partition key) stay in order across the concurrent
      // batches of a shard; the projector repairs any order anyway. 2 keeps lag low at
      // moderate load without multiplying database connections (the proxy pools them).
      parallelizationFactor: 2,
      bisectBatchOnError: true,
      reportBatchItemFailures: true,
      retryAttempts: 10,
      maxRecordAge: Duration.days(1),
      onFailure: new SqsDlq(failures),
      filters: [lambda.FilterCriteria.filter({ eventName: lambda.FilterRule.isEqual('INSERT') })],
    });

    addServiceRoutes(
      this,
      this.queryFunction,
      [
        { path: '/query/{proxy+}', method: apigw.HttpMethod.ANY, authorize: true },
        { path: '/query/healthcheck', method: apigw.HttpMethod.GET, authorize: false },
      ],
      props.useJwtAuthorizer ?? false,
    );
  }
}

function functionRole(scope: Construct, id: string): iam.Role {
  return new iam.Role(scope, id, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaVPCAccessExecutionRole')],
  });
}
