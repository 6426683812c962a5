import { Duration, Stack } from 'aws-cdk-lib';
import type { StackProps } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { names } from './names.ts';
import { addServiceRoutes, userRoutes } from './service-routes.ts';
import { serviceImage } from './service-image.ts';
import { applyServiceBoundary } from './service-boundary.ts';
import { serviceDashboard, serviceFunction } from './service-function.ts';
import { identityEnvironment, serviceSettings } from './settings.ts';

export interface CommandStackProps extends StackProps {
  /** Image tag in the command repository (the pipeline's fingerprint); an asset build without. */
  readonly imageTag?: string;
}

/**
 * The command service: its function (no VPC: it only talks to DynamoDB) and its routes. Needs
 * the identity settings (context `jwksUrl`, `jwtIssuer`, `jwtAudience`, `useJwtAuthorizer`).
 */
export class CommandStack extends Stack {
  readonly function: lambda.DockerImageFunction;

  constructor(scope: Construct, id: string, props: CommandStackProps = {}) {
    super(scope, id, props);
    applyServiceBoundary(this, 'command');
    const settings = serviceSettings(this);
    const tableArn = this.formatArn({ service: 'dynamodb', resource: 'table', resourceName: names.eventsTable });

    const { fn, role } = serviceFunction(this, 'Function', {
      service: 'command',
      functionName: names.commandFunction,
      code: serviceImage(this, 'command', props.imageTag),
      memorySize: 256,
      timeout: Duration.seconds(10),
      environment: { EVENTS_TABLE: names.eventsTable, ...(settings ? identityEnvironment(settings.identity) : {}) },
      // No reserved concurrency: it holds no connections to bound (DynamoDB on demand takes what
      // comes), and a reservation would take its share from the account's pool for good, leaving
      // less to every other function and failing the deploy in an account whose limit is low
      // (DEPLOY.md, "From an empty account", quotas). It scales in what the query functions leave.
    });
    this.function = fn;
    // Least privilege: append and read its streams, nothing else; events are never updated or deleted.
    role.addToPolicy(new iam.PolicyStatement({ actions: ['dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:DescribeTable'], resources: [tableArn] }));

    addServiceRoutes(
      this,
      fn,
      [
        ...userRoutes('/command'),
        { path: '/command/v1/healthcheck', method: apigw.HttpMethod.GET, authorize: false },
      ],
      settings?.useJwtAuthorizer ?? false,
    );
    serviceDashboard(this, 'command', [fn]);
  }
}
