/**
 * Stable names shared by the stacks. Stacks find each other's resources by these names or by
 * SSM parameters, never by CloudFormation exports: an export pins the exporting stack, so one
 * service's deploy could be blocked by the other's. Every name starts with the app prefix.
 */
export const prefix = 'cqrs-es';

export const names = {
  eventsTable: `${prefix}-events`,
  databaseSecret: `${prefix}/projections-db`,
  databaseName: 'projections',
  repository: (service: ServiceName) => `${prefix}-${service}`,
  commandFunction: `${prefix}-command`,
  queryFunction: `${prefix}-query`,
  projectorFunction: `${prefix}-projector`,
} as const;

/** Parameters written by the shared stacks and read by the service stacks at deploy time. */
export const parameters = {
  eventsStreamArn: `/${prefix}/events-table/stream-arn`,
  privateSubnetIds: `/${prefix}/network/private-subnet-ids`,
  databaseClientSecurityGroupId: `/${prefix}/database/client-security-group-id`,
  databaseProxyEndpoint: `/${prefix}/database/proxy-endpoint`,
  httpApiId: `/${prefix}/api/http-api-id`,
  httpApiAuthorizerId: `/${prefix}/api/jwt-authorizer-id`,
  /** The fingerprint of what is deployed, per service (written by the pipelines). */
  deployedFingerprint: (service: ServiceName) => `/${prefix}/deployed/${service}`,
} as const;

export type ServiceName = 'command' | 'query';
export const services: readonly ServiceName[] = ['command', 'query'];

/** The stack each service deploys with (`cdk deploy <id> --exclusively`). */
export const stackIds = {
  data: 'DataStack',
  api: 'ApiStack',
  command: 'CommandStack',
  query: 'QueryStack',
  pipelines: 'PipelinesStack',
} as const;
