import { Duration, Fn, Stack } from 'aws-cdk-lib';
import type { StackProps } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import type { Construct } from 'constructs';
import { names, parameters } from './names.ts';
import { acknowledge, starPolicy } from './nag.ts';
import { applyServiceBoundary } from './service-boundary.ts';
import { serviceDashboard, serviceFunction } from './service-function.ts';
import { serviceImage } from './service-image.ts';
import { catchUpCommand, projectorEventSource } from './projector-source.ts';
import { addServiceRoutes, userRoutes } from './service-routes.ts';
import { identityEnvironment, serviceSettings } from './settings.ts';

export interface QueryStackProps extends StackProps {
  readonly imageTag?: string;
}

/**
 * How long each function waits for a Postgres connection (DATABASE_CONNECT_TIMEOUT_MS). Aurora
 * Serverless v2 resumes from 0 ACU in about 15 s (it may take longer after a pause of more than a
 * day); the first connection after a pause waits for it. Each timeout is above the usual resume
 * and leaves the function time to migrate and answer: the query API has 29 s (API Gateway gives up
 * at 30), the projector 60 s.
 */
export const databaseTiming = {
  query: { timeout: Duration.seconds(29), connectTimeout: Duration.seconds(20) },
  projector: { timeout: Duration.seconds(60), connectTimeout: Duration.seconds(45) },
} as const;

/**
 * What bounds the connections to Postgres: each function instance serves one request (or stream
 * batch) at a time and keeps a pool of `poolSize` connections (DATABASE_POOL_SIZE), and reserved
 * concurrency caps its instances. A stage throttle caps the request rate, not concurrency: without
 * a reservation a slow database would let instances pile up to the account's limit. Reserved
 * concurrency × pool size, summed over both functions, stays under Aurora's max_connections at the
 * cluster's maximum capacity with room to spare (data-stack.ts, connectionHeadroom; DEPLOY.md,
 * "Postgres", has the arithmetic, and a test checks it on the templates). The query API gets as many
 * instances as the stage's burst admits at once; the projector a few per stream shard (Lambda runs
 * up to two batches per shard), throttled beyond that (its iterator age and throttles alarms say
 * when the stream outgrows it).
 */
export const databaseClients = {
  query: { reservedConcurrency: 400, poolSize: 2 },
  projector: { reservedConcurrency: 10, poolSize: 2 },
} as const;

/** Where the projector function's bundle sits in the query image (Dockerfile.query). */
export const projectorCommand = ['/app/projector/index.mjs'];

/**
 * The query service: the query API function and the projector function, one image, both in the
 * VPC next to Postgres. The projector consumes the events table's stream through the adapter's
 * pass-through path; the API routes never reach it.
 */
export class QueryStack extends Stack {
  readonly queryFunction: lambda.DockerImageFunction;
  readonly projectorFunction: lambda.DockerImageFunction;

  constructor(scope: Construct, id: string, props: QueryStackProps = {}) {
    super(scope, id, props);
    applyServiceBoundary(this, 'query');
    const settings = serviceSettings(this);
    const read = (name: string) => ssm.StringParameter.valueForStringParameter(this, name);
    const vpc = {
      subnetIds: Fn.split(',', read(parameters.privateSubnetIds), 2),
      securityGroupIds: [read(parameters.databaseClientSecurityGroupId)],
    };
    const tableArn = this.formatArn({ service: 'dynamodb', resource: 'table', resourceName: names.eventsTable });
    const streamArn = read(parameters.eventsStreamArn);
    // The functions read the credentials from Secrets Manager when they connect (TLS, straight
    // to Aurora): nothing secret in the environment, and any generated password works.
    const databaseSecretArn = read(parameters.databaseSecretArn);
    const database = (connectTimeout: Duration, poolSize: number) => ({
      EVENTS_TABLE: names.eventsTable,
      DATABASE_SECRET_ARN: databaseSecretArn,
      DATABASE_CONNECT_TIMEOUT_MS: String(connectTimeout.toMilliseconds()),
      DATABASE_POOL_SIZE: String(poolSize),
    });
    const readSecret = new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [databaseSecretArn] });
    const readLog = new iam.PolicyStatement({ actions: ['dynamodb:Query', 'dynamodb:DescribeTable'], resources: [tableArn] });

    const query = serviceFunction(this, 'QueryFunction', {
      service: 'query',
      functionName: names.queryFunction,
      code: serviceImage(this, 'query', props.imageTag),
      memorySize: 256,
      timeout: databaseTiming.query.timeout,
      environment: { ...database(databaseTiming.query.connectTimeout, databaseClients.query.poolSize), ...(settings ? identityEnvironment(settings.identity) : {}) },
      reservedConcurrency: databaseClients.query.reservedConcurrency,
      vpc,
    });
    this.queryFunction = query.fn;
    query.role.addToPolicy(readLog);
    query.role.addToPolicy(readSecret);

    const projector = serviceFunction(this, 'ProjectorFunction', {
      service: 'query',
      functionName: names.projectorFunction,
      code: serviceImage(this, 'query', props.imageTag, projectorCommand),
      memorySize: 256,
      timeout: databaseTiming.projector.timeout,
      // No identity settings: the projector serves no user requests. Only its stream path is
      // passed through; any status but 200 fails the invocation (Lambda retries and bisects),
      // so only a batchItemFailures body from /events counts as success.
      environment: {
        ...database(databaseTiming.projector.connectTimeout, databaseClients.projector.poolSize),
        AWS_LWA_READINESS_CHECK_PATH: '/projector/healthcheck',
        AWS_LWA_PASS_THROUGH_PATH: '/events',
        AWS_LWA_ERROR_STATUS_CODES: '201-599',
      },
      reservedConcurrency: databaseClients.projector.reservedConcurrency,
      vpc,
      // A batch that arrives while the database resumes can still fail once (a resume slower than
      // the connect timeout); Lambda retries it at once and the retry finds the database awake.
      // So the errors alarm waits for a second period with errors: what persists is reported.
      errorsAlarm: { evaluationPeriods: 2, datapointsToAlarm: 2 },
    });
    this.projectorFunction = projector.fn;
    projector.role.addToPolicy(readLog);
    projector.role.addToPolicy(readSecret);
    projector.role.addToPolicy(
      new iam.PolicyStatement({ actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'], resources: [streamArn] }),
    );
    // Lambda's stream poller lists streams as the function; ListStreams names no resource.
    const listStreams = starPolicy(
      projector.role,
      'ListStreams',
      new iam.PolicyStatement({ actions: ['dynamodb:ListStreams'], resources: ['*'] }),
      'dynamodb:ListStreams takes no resource; it lists stream ARNs and reads nothing',
    );

    const failures = new sqs.Queue(this, 'ProjectorFailures', {
      queueName: names.projectorFailures,
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    acknowledge(failures, 'This queue is the on-failure destination of the stream: records land here after ten retries; nothing reads from it automatically', 'AwsSolutions-SQS3');
    const eventSource = new lambda.EventSourceMapping(this, 'EventsStream', {
      target: projector.fn,
      eventSourceArn: streamArn,
      startingPosition: lambda.StartingPosition.TRIM_HORIZON,
      batchSize: projectorEventSource.batchSize,
      maxBatchingWindow: Duration.seconds(0),
      // Records of one stream id (the partition key) stay in order across the concurrent
      // batches of a shard; the projector repairs any order anyway. 2 keeps lag low at
      // moderate load while bounding database connections (2 per shard).
      parallelizationFactor: 2,
      bisectBatchOnError: true,
      reportBatchItemFailures: true,
      retryAttempts: projectorEventSource.retryAttempts,
      maxRecordAge: Duration.days(1),
      onFailure: new SqsDlq(failures),
      // New commits only: Idempotency-Key records share the table at version 0, where no commit
      // ever is; the projector would skip them, so they need not cost an invocation.
      filters: [
        lambda.FilterCriteria.filter({
          eventName: lambda.FilterRule.isEqual('INSERT'),
          dynamodb: { Keys: { version: { N: lambda.FilterRule.notEquals('0') } } },
        }),
      ],
    });
    // Lambda checks the function may read the stream when it creates the mapping.
    eventSource.node.addDependency(listStreams);
    // The on-failure destination: Lambda sends the description of a batch it gave up on.
    projector.role.addToPolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage', 'sqs:GetQueueAttributes'], resources: [failures.queueArn] }));

    // A record the projector gave up on, and a projection falling behind the log.
    projector.alarm(
      'Failed-Records',
      failures.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
      `${names.projectorFailures}: stream records the projector gave up on after its retries are missing from the projections. ` +
        `Repair: ${catchUpCommand(names.projectorFunction)}, check that it reports no failed stream, then purge the queue (DEPLOY.md, "Operating")`,
    );
    const iteratorAge = projector.fn.metric('IteratorAge', { period: Duration.minutes(5), statistic: 'Maximum' });
    projector.alarm('Iterator-Age', iteratorAge, `${names.projectorFunction}: the oldest stream record waited over a minute (projections lag the log)`, {
      threshold: 60_000,
      evaluationPeriods: 3,
    });

    addServiceRoutes(
      this,
      query.fn,
      [
        ...userRoutes('/query'),
        { path: '/query/healthcheck', method: apigw.HttpMethod.GET, authorize: false },
      ],
      settings?.useJwtAuthorizer ?? false,
    );
    serviceDashboard(this, 'query', [query.fn, projector.fn], [
      new cloudwatch.GraphWidget({ title: 'Projector iterator age (ms)', left: [iteratorAge] }),
      new cloudwatch.GraphWidget({ title: 'Records given up on', left: [failures.metricApproximateNumberOfMessagesVisible()] }),
    ]);
  }
}
