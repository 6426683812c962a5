/**
 * Stable names shared by the stacks. Stacks find each other's resources by these names or by
 * SSM parameters, never by CloudFormation exports: an export pins the exporting stack, so one
 * service's deploy could be blocked by the other's. Every name starts with the app prefix.
 */
export const prefix = 'cqrs-es';

export type ServiceName = 'command' | 'query';
export const services: readonly ServiceName[] = ['command', 'query'];

export const names = {
  eventsTable: `${prefix}-events`,
  databaseSecret: `${prefix}/projections-db`,
  databaseName: 'projections',
  databaseUser: 'projector',
  repository: (service: ServiceName) => `${prefix}-${service}`,
  commandFunction: `${prefix}-command`,
  queryFunction: `${prefix}-query`,
  projectorFunction: `${prefix}-projector`,
  projectorFailures: `${prefix}-projector-failures`,
  alarmTopic: `${prefix}-alarms`,
  /** The functions of each service: the deploy roles may manage these and no others. */
  functions: { command: [`${prefix}-command`], query: [`${prefix}-query`, `${prefix}-projector`] } as Record<ServiceName, readonly string[]>,
  /** Log groups, alarms and dashboards of a service start with these. */
  logGroupPrefix: (service: ServiceName) => `/${prefix}/${service}/`,
  alarmPrefix: (service: ServiceName) => `${prefix}-${service}-`,
  dashboard: (service: ServiceName) => `${prefix}-${service}`,
  /** Prefix of the ECR repositories the pull-through cache keeps public base images in. */
  publicImageCache: `${prefix}-public`,
  /** IAM path of the roles a service stack creates (its functions' roles). */
  rolePath: (service: ServiceName) => `/${prefix}/${service}/`,
  /** The permissions boundary every role of a service stack carries. */
  boundary: (service: ServiceName) => `${prefix}-${service}-boundary`,
  /** The role CloudFormation deploys a service stack with (passed by that service's build). */
  deployRole: (service: ServiceName) => `${prefix}-${service}-deploy`,
} as const;

/** Parameters written by the shared stacks and read by the service stacks at deploy time. */
export const parameters = {
  eventsStreamArn: `/${prefix}/events-table/stream-arn`,
  privateSubnetIds: `/${prefix}/network/private-subnet-ids`,
  databaseClientSecurityGroupId: `/${prefix}/database/client-security-group-id`,
  databaseSecretArn: `/${prefix}/database/secret-arn`,
  httpApiId: `/${prefix}/api/http-api-id`,
  httpApiAuthorizerId: `/${prefix}/api/jwt-authorizer-id`,
  /** The settings the services deploy with (written by the ApiStack, read by the pipelines). */
  settingsPath: `/${prefix}/settings/`,
  /** The fingerprint of what is deployed, per service (written by the pipelines). */
  deployedFingerprint: (service: ServiceName) => `/${prefix}/deployed/${service}`,
  /**
   * The deployment part of the fingerprint that CloudFormation last deployed, per service: while a
   * new fingerprint has the same, a deploy only swaps the functions' image (written by the pipelines).
   */
  deployedStack: (service: ServiceName) => `/${prefix}/deployed-stack/${service}`,
  /**
   * Present while a service is rolled back: the pipeline refuses to deploy it until someone
   * deletes the parameter. Written by hand (DEPLOY.md), never by a pipeline.
   */
  pinned: (service: ServiceName) => `/${prefix}/pinned/${service}`,
} as const;

/** The stack each service deploys with (`cdk deploy <id> --exclusively`). */
export const stackIds = {
  data: 'DataStack',
  api: 'ApiStack',
  command: 'CommandStack',
  query: 'QueryStack',
  pipelines: 'PipelinesStack',
} as const;
