import { Duration, Stack } from 'aws-cdk-lib';
import type { StackProps } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { names } from './names.ts';
import { addServiceRoutes } from './service-routes.ts';
import { serviceImage } from './service-image.ts';
import type { IdentitySettings } from './identity.ts';
import { identityEnvironment } from './identity.ts';

export interface CommandStackProps extends StackProps {
  /** Image tag in the command repository (the pipeline's fingerprint); an asset build without. */
  readonly imageTag?: string;
  readonly identity: IdentitySettings;
  readonly useJwtAuthorizer?: boolean;
}

/** The command service: its function (no VPC: it only talks to DynamoDB) and its routes. */
export class CommandStack extends Stack {
  readonly function: lambda.DockerImageFunction;

  constructor(scope: Construct, id: string, props: CommandStackProps) {
    super(scope, id, props);
    const tableArn = Stack.of(this).formatArn({ service: 'dynamodb', resource: 'table', resourceName: names.eventsTable });

    // Least privilege: append and read its streams, nothing else; events are never updated or deleted.
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaBasicExecutionRole')],
    });
    role.addToPolicy(
      new iam.PolicyStatement({ actions: ['dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:DescribeTable'], resources: [tableArn] }),
    );

    this.function = new lambda.DockerImageFunction(this, 'Function', {
      functionName: names.commandFunction,
      code: serviceImage(this, 'command', props.imageTag),
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout: Duration.seconds(10),
      role,
      environment: { EVENTS_TABLE: names.eventsTable, ...identityEnvironment(props.identity) },
      logGroup: new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.ONE_MONTH }),
    });

    addServiceRoutes(
      this,
      this.function,
      [
        { path: '/command/{proxy+}', method: apigw.HttpMethod.ANY, authorize: true },
        { path: '/command/v1/healthcheck', method: apigw.HttpMethod.GET, authorize: false },
      ],
      props.useJwtAuthorizer ?? false,
    );
  }
}
