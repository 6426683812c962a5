import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { acknowledgeWildcards, cfnLintIgnoreRoleDependency, starPolicy } from './nag.ts';
import type { Construct } from 'constructs';
import { names, prefix } from './names.ts';
import type { ServiceName } from './names.ts';

export interface ServiceFunctionProps {
  readonly service: ServiceName;
  readonly functionName: string;
  readonly code: lambda.DockerImageCode;
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly environment: Record<string, string>;
  /** Concurrent instances the function may run at most, set aside from the account's pool. */
  readonly reservedConcurrency?: number;
  /** Subnets and security groups, for a function that must reach the VPC (Postgres). */
  readonly vpc?: { readonly subnetIds: string[]; readonly securityGroupIds: string[] };
  /** How many 5-minute periods with errors raise the errors alarm (default: one). */
  readonly errorsAlarm?: { readonly evaluationPeriods: number; readonly datapointsToAlarm: number };
}

/**
 * What every function's process needs to send its spans: with active tracing Lambda
 * runs the X-Ray daemon beside the function and names it in AWS_XRAY_DAEMON_ADDRESS; the `xray`
 * exporter sends OTLP over UDP to it (DEPLOY.md, "Traces"). The service name is the function's.
 */
export function tracingEnvironment(functionName: string): Record<string, string> {
  return { OTEL_TRACES_EXPORTER: 'xray', OTEL_SERVICE_NAME: functionName };
}

/**
 * A service function as every service wants it: arm64, active tracing, its own role (under the
 * service's IAM path and permissions boundary, so the service's deploy role can create it), a
 * named log group with a retention, and alarms on errors and throttles.
 */
export function serviceFunction(scope: Construct, id: string, props: ServiceFunctionProps) {
  const stack = Stack.of(scope);
  const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
    logGroupName: `${names.logGroupPrefix(props.service)}${props.functionName}`,
    retention: logs.RetentionDays.ONE_MONTH,
    // The logs of a deleted stack go with it, so that the stack can be created again.
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const role = new iam.Role(scope, `${id}Role`, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    path: names.rolePath(props.service),
    description: `runs the ${props.functionName} function`,
  });
  // Its own log group only (AWSLambdaBasicExecutionRole would grant every group).
  const writeLogs = new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [`${logGroup.logGroupArn}:*`] });
  role.addToPolicy(writeLogs);
  acknowledgeWildcards(role, writeLogs, 'Log streams are named at run time, inside the function\'s own log group');

  const fn = new lambda.DockerImageFunction(scope, id, {
    code: props.code,
    functionName: props.functionName,
    architecture: lambda.Architecture.ARM_64,
    memorySize: props.memorySize,
    timeout: props.timeout,
    role,
    environment: { ...tracingEnvironment(props.functionName), ...props.environment },
    logGroup,
    ...(props.reservedConcurrency === undefined ? {} : { reservedConcurrentExecutions: props.reservedConcurrency }),
  });
  // Active tracing, with its grant in a policy of its own: X-Ray takes no narrower resource than
  // *, and a * acknowledged on the role's main policy would cover any later * there too.
  (fn.node.defaultChild as lambda.CfnFunction).tracingConfig = { mode: lambda.Tracing.ACTIVE };
  cfnLintIgnoreRoleDependency(fn.node.defaultChild as lambda.CfnFunction);
  starPolicy(
    role,
    'Tracing',
    new iam.PolicyStatement({ actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], resources: ['*'] }),
    'X-Ray accepts trace segments on no narrower resource than *',
    [fn],
  );
  if (props.vpc) {
    // What AWSLambdaVPCAccessExecutionRole grants: Lambda attaches the function to the subnets
    // (it checks the role has this when it creates the function).
    starPolicy(
      role,
      'VpcAttachment',
      new iam.PolicyStatement({
        actions: ['ec2:CreateNetworkInterface', 'ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets', 'ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses'],
        resources: ['*'],
      }),
      'Lambda attaches a VPC function through network interfaces it creates and names at run time',
      [fn],
    );
    // Subnet ids and the security group come from SSM at deploy time: the only parts of the
    // network the template needs, so the service stack does not import the VPC.
    (fn.node.defaultChild as lambda.CfnFunction).addPropertyOverride('VpcConfig', {
      SubnetIds: props.vpc.subnetIds,
      SecurityGroupIds: props.vpc.securityGroupIds,
    });
  }

  const topic = sns.Topic.fromTopicArn(scope, `${id}AlarmTopic`, stack.formatArn({ service: 'sns', resource: names.alarmTopic }));
  // cqrs-es-query-errors for the service's main function, cqrs-es-query-projector-errors else
  const functionPart = props.functionName === `${prefix}-${props.service}` ? '' : `${props.functionName.slice(prefix.length + 1)}-`;
  const alarm = (name: string, metric: cloudwatch.IMetric, description: string, options: { threshold?: number; evaluationPeriods?: number; datapointsToAlarm?: number } = {}) => {
    const created = new cloudwatch.Alarm(scope, `${id}${name}Alarm`, {
      alarmName: `${names.alarmPrefix(props.service)}${functionPart}${name.toLowerCase()}`,
      alarmDescription: description,
      metric,
      threshold: options.threshold ?? 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: options.evaluationPeriods ?? 1,
      ...(options.datapointsToAlarm ? { datapointsToAlarm: options.datapointsToAlarm } : {}),
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    created.addAlarmAction(new cwActions.SnsAction(topic));
    return created;
  };
  const period = Duration.minutes(5);
  const errors = alarm(
    'Errors',
    fn.metricErrors({ period, statistic: 'Sum' }),
    `${props.functionName}: invocations failed (uncaught errors, timeouts, crashes)${props.errorsAlarm ? ` in ${props.errorsAlarm.datapointsToAlarm} of ${props.errorsAlarm.evaluationPeriods} five-minute periods` : ''}`,
    props.errorsAlarm ?? {},
  );
  const throttles = alarm('Throttles', fn.metricThrottles({ period, statistic: 'Sum' }), `${props.functionName}: invocations throttled (concurrency exhausted)`);
  return { fn, role, logGroup, alarms: [errors, throttles], topic, alarm };
}

/** A dashboard of the service's functions (invocations, errors, throttles, duration). */
export function serviceDashboard(scope: Construct, service: ServiceName, functions: readonly lambda.IFunction[], extra: cloudwatch.IWidget[] = []) {
  const period = Duration.minutes(5);
  return new cloudwatch.Dashboard(scope, 'Dashboard', {
    dashboardName: names.dashboard(service),
    widgets: [
      [
        new cloudwatch.GraphWidget({ title: 'Invocations', left: functions.map((fn) => fn.metricInvocations({ period })) }),
        new cloudwatch.GraphWidget({ title: 'Errors and throttles', left: functions.flatMap((fn) => [fn.metricErrors({ period }), fn.metricThrottles({ period })]) }),
        new cloudwatch.GraphWidget({ title: 'Duration p99', left: functions.map((fn) => fn.metricDuration({ period, statistic: 'p99' })) }),
      ],
      ...(extra.length > 0 ? [extra] : []),
    ],
  });
}
