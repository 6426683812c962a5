/**
 * What CloudFormation's resource handlers call, per resource type the service stacks hold: the
 * `handlers.{create,read,update,delete}.permissions` of each type's registry schema. A deploy role
 * (CloudFormation acts as it) needs these on the stack's own resources, or a create, an update or
 * a delete fails half-way and rolls back.
 *
 * Source: the CloudFormation registry schemas as `aws cloudformation describe-type --type RESOURCE
 * --type-name <type> --query Schema --output text` prints them (as published in July 2026). To
 * refresh a type, run that command and replace its lists with `handlers.<operation>.permissions`;
 * the infra tests then show what the deploy roles lack or no longer need. Two types list no
 * handler permissions there: AWS::IAM::Policy (CloudFormation puts, reads and deletes an inline
 * policy on each role it names: the same calls as the registry's AWS::IAM::RolePolicy) and
 * AWS::CDK::Metadata (the CDK's version report, which CloudFormation stores without calling any
 * service).
 *
 * The list handlers are left out: CloudFormation does not call them to deploy a stack.
 */
export type Operation = 'create' | 'read' | 'update' | 'delete';
export type HandlerPermissions = Readonly<Record<Operation, readonly string[]>>;

export const handlerPermissions: Readonly<Record<string, HandlerPermissions>> = {
  'AWS::Lambda::Function': {
    create: [
      'lambda:CreateFunction',
      'lambda:GetFunction',
      'lambda:PutFunctionConcurrency',
      'iam:PassRole',
      's3:GetObject',
      's3:GetObjectVersion',
      'ec2:DescribeSecurityGroups',
      'ec2:DescribeSubnets',
      'ec2:DescribeVpcs',
      'elasticfilesystem:DescribeMountTargets',
      's3files:ListMountTargets',
      'kms:CreateGrant',
      'kms:Decrypt',
      'kms:Encrypt',
      'kms:GenerateDataKey',
      'lambda:GetCodeSigningConfig',
      'lambda:GetFunctionCodeSigningConfig',
      'lambda:GetLayerVersion',
      'lambda:GetRuntimeManagementConfig',
      'lambda:PutRuntimeManagementConfig',
      'lambda:TagResource',
      'lambda:PutFunctionRecursionConfig',
      'lambda:GetFunctionRecursionConfig',
      'lambda:PutFunctionScalingConfig',
      'lambda:PassCapacityProvider',
    ],
    read: [
      'lambda:GetFunction',
      'kms:Decrypt',
      'lambda:GetFunctionCodeSigningConfig',
      'lambda:GetFunctionRecursionConfig',
      'lambda:GetRuntimeManagementConfig',
      'lambda:GetFunctionScalingConfig',
    ],
    update: [
      'lambda:DeleteFunctionConcurrency',
      'lambda:GetFunction',
      'lambda:PutFunctionConcurrency',
      'lambda:TagResource',
      'lambda:UntagResource',
      'lambda:UpdateFunctionConfiguration',
      'lambda:UpdateFunctionCode',
      'iam:PassRole',
      's3:GetObject',
      's3:GetObjectVersion',
      'ec2:DescribeSecurityGroups',
      'ec2:DescribeSubnets',
      'ec2:DescribeVpcs',
      'elasticfilesystem:DescribeMountTargets',
      's3files:ListMountTargets',
      'kms:CreateGrant',
      'kms:Decrypt',
      'kms:GenerateDataKey',
      'lambda:GetRuntimeManagementConfig',
      'lambda:PutRuntimeManagementConfig',
      'lambda:PutFunctionCodeSigningConfig',
      'lambda:DeleteFunctionCodeSigningConfig',
      'lambda:GetCodeSigningConfig',
      'lambda:GetFunctionCodeSigningConfig',
      'lambda:PutFunctionRecursionConfig',
      'lambda:GetFunctionRecursionConfig',
      'lambda:PutFunctionScalingConfig',
      'lambda:PublishVersion',
      'lambda:PassCapacityProvider',
    ],
    delete: ['lambda:DeleteFunction', 'lambda:GetFunction', 'ec2:DescribeNetworkInterfaces'],
  },
  'AWS::Lambda::Permission': {
    create: ['lambda:AddPermission'],
    read: ['lambda:GetPolicy'],
    update: [],
    delete: ['lambda:RemovePermission'],
  },
  'AWS::Lambda::EventSourceMapping': {
    create: ['lambda:CreateEventSourceMapping', 'lambda:GetEventSourceMapping', 'lambda:TagResource', 'kms:DescribeKey', 'kms:GenerateDataKey', 'kms:Decrypt'],
    read: ['lambda:GetEventSourceMapping', 'lambda:ListTags', 'kms:Decrypt'],
    update: ['lambda:UpdateEventSourceMapping', 'lambda:GetEventSourceMapping', 'lambda:TagResource', 'lambda:UntagResource', 'kms:DescribeKey', 'kms:GenerateDataKey', 'kms:Decrypt'],
    delete: ['lambda:DeleteEventSourceMapping', 'lambda:GetEventSourceMapping', 'kms:Decrypt'],
  },
  'AWS::IAM::Role': {
    create: ['iam:CreateRole', 'iam:PutRolePolicy', 'iam:AttachRolePolicy', 'iam:GetRolePolicy', 'iam:TagRole', 'iam:UntagRole', 'iam:GetRole'],
    read: ['iam:GetRole', 'iam:ListAttachedRolePolicies', 'iam:ListRolePolicies', 'iam:GetRolePolicy'],
    update: [
      'iam:UpdateRole',
      'iam:UpdateRoleDescription',
      'iam:UpdateAssumeRolePolicy',
      'iam:DetachRolePolicy',
      'iam:AttachRolePolicy',
      'iam:DeleteRolePermissionsBoundary',
      'iam:PutRolePermissionsBoundary',
      'iam:DeleteRolePolicy',
      'iam:PutRolePolicy',
      'iam:TagRole',
      'iam:UntagRole',
    ],
    delete: ['iam:DeleteRole', 'iam:DetachRolePolicy', 'iam:DeleteRolePolicy', 'iam:GetRole', 'iam:ListAttachedRolePolicies', 'iam:ListRolePolicies', 'iam:TagRole', 'iam:UntagRole'],
  },
  // No registry schema: the calls of AWS::IAM::RolePolicy, the registry's form of the same thing.
  'AWS::IAM::Policy': {
    create: ['iam:PutRolePolicy', 'iam:GetRolePolicy'],
    read: ['iam:GetRolePolicy'],
    update: ['iam:PutRolePolicy', 'iam:GetRolePolicy'],
    delete: ['iam:DeleteRolePolicy', 'iam:GetRolePolicy'],
  },
  'AWS::Logs::LogGroup': {
    create: [
      'logs:DescribeLogGroups',
      'logs:CreateLogGroup',
      'logs:PutRetentionPolicy',
      'logs:TagResource',
      'logs:GetDataProtectionPolicy',
      'logs:PutDataProtectionPolicy',
      'logs:CreateLogDelivery',
      's3:REST.PUT.OBJECT',
      'firehose:TagDeliveryStream',
      'logs:PutResourcePolicy',
      'logs:DescribeResourcePolicies',
    ],
    read: ['logs:DescribeLogGroups', 'logs:ListTagsForResource', 'logs:GetDataProtectionPolicy'],
    update: [
      'logs:DescribeLogGroups',
      'logs:AssociateKmsKey',
      'logs:DisassociateKmsKey',
      'logs:PutRetentionPolicy',
      'logs:DeleteRetentionPolicy',
      'logs:TagResource',
      'logs:UntagResource',
      'logs:GetDataProtectionPolicy',
      'logs:PutDataProtectionPolicy',
      'logs:CreateLogDelivery',
      's3:REST.PUT.OBJECT',
      'firehose:TagDeliveryStream',
    ],
    delete: ['logs:DescribeLogGroups', 'logs:DeleteLogGroup', 'logs:DeleteDataProtectionPolicy'],
  },
  'AWS::SQS::Queue': {
    create: ['sqs:CreateQueue', 'sqs:GetQueueUrl', 'sqs:GetQueueAttributes', 'sqs:ListQueueTags', 'sqs:TagQueue'],
    read: ['sqs:GetQueueAttributes', 'sqs:ListQueueTags'],
    update: ['sqs:SetQueueAttributes', 'sqs:GetQueueAttributes', 'sqs:ListQueueTags', 'sqs:TagQueue', 'sqs:UntagQueue'],
    delete: ['sqs:DeleteQueue', 'sqs:GetQueueAttributes'],
  },
  'AWS::SQS::QueuePolicy': {
    create: ['sqs:SetQueueAttributes'],
    read: [],
    update: ['sqs:SetQueueAttributes'],
    delete: ['sqs:SetQueueAttributes'],
  },
  'AWS::CloudWatch::Alarm': {
    create: ['cloudwatch:PutMetricAlarm', 'cloudwatch:DescribeAlarms', 'cloudwatch:TagResource'],
    read: ['cloudwatch:DescribeAlarms', 'cloudwatch:ListTagsForResource'],
    update: ['cloudwatch:PutMetricAlarm', 'cloudwatch:DescribeAlarms', 'cloudwatch:TagResource', 'cloudwatch:UntagResource'],
    delete: ['cloudwatch:DeleteAlarms', 'cloudwatch:DescribeAlarms'],
  },
  'AWS::CloudWatch::Dashboard': {
    create: ['cloudwatch:PutDashboard', 'cloudwatch:GetDashboard', 'cloudwatch:TagResource'],
    read: ['cloudwatch:GetDashboard', 'cloudwatch:ListTagsForResource'],
    update: ['cloudwatch:PutDashboard', 'cloudwatch:TagResource', 'cloudwatch:UntagResource', 'cloudwatch:ListTagsForResource'],
    delete: ['cloudwatch:DeleteDashboards', 'cloudwatch:GetDashboard'],
  },
  'AWS::ApiGatewayV2::Route': {
    create: ['apigateway:POST'],
    read: ['apigateway:GET'],
    update: ['apigateway:PATCH', 'apigateway:GET', 'apigateway:PUT'],
    delete: ['apigateway:GET', 'apigateway:DELETE'],
  },
  // iam:PassRole only for a credentials role, which the integrations do not have: they call
  // Lambda through its resource policy (the deploy roles pass roles to Lambda alone).
  'AWS::ApiGatewayV2::Integration': {
    create: ['apigateway:POST', 'iam:PassRole'],
    read: ['apigateway:GET'],
    update: ['apigateway:PATCH', 'apigateway:GET', 'apigateway:PUT', 'iam:PassRole'],
    delete: ['apigateway:GET', 'apigateway:DELETE'],
  },
  'AWS::CDK::Metadata': { create: [], read: [], update: [], delete: [] },
};

/**
 * Handler permissions the deploy roles leave out on purpose, each with why: the stacks use none
 * of the features they serve, and some would reach beyond the stack.
 */
export const permissionsNotGranted: Readonly<Record<string, string>> = {
  's3:GetObject': 'the functions run container images from ECR, never a zip from S3',
  's3:GetObjectVersion': 'the functions run container images from ECR, never a zip from S3',
  'elasticfilesystem:DescribeMountTargets': 'no function mounts a file system',
  's3files:ListMountTargets': 'no function mounts a file system',
  'kms:CreateGrant': 'nothing in the stacks is encrypted with a customer managed key',
  'kms:Decrypt': 'nothing in the stacks is encrypted with a customer managed key',
  'kms:Encrypt': 'nothing in the stacks is encrypted with a customer managed key',
  'kms:GenerateDataKey': 'nothing in the stacks is encrypted with a customer managed key',
  'kms:DescribeKey': 'nothing in the stacks is encrypted with a customer managed key',
  'logs:AssociateKmsKey': 'nothing in the stacks is encrypted with a customer managed key',
  'logs:DisassociateKmsKey': 'nothing in the stacks is encrypted with a customer managed key',
  'lambda:GetCodeSigningConfig': 'no code signing configuration (and its resource is not the service\'s)',
  'lambda:PutFunctionCodeSigningConfig': 'no code signing configuration (and its resource is not the service\'s)',
  'lambda:GetLayerVersion': 'container images have no layers',
  'lambda:PassCapacityProvider': 'no capacity provider: the functions run on Lambda\'s default compute',
  'logs:CreateLogDelivery': 'no log group delivers its logs elsewhere',
  's3:REST.PUT.OBJECT': 'no log group delivers its logs elsewhere',
  'firehose:TagDeliveryStream': 'no log group delivers its logs elsewhere',
  'logs:PutDataProtectionPolicy': 'no log group has a data protection policy',
  'logs:PutResourcePolicy': 'a logs resource policy is account-wide (it could let any service write to any log group); the stacks set none',
  'logs:DescribeResourcePolicies': 'a logs resource policy is account-wide; the stacks set none',
  'iam:AttachRolePolicy': 'the functions\' roles carry inline policies only: a managed policy (an AWS one is broad) is not theirs to attach',
  'iam:DeleteRolePermissionsBoundary': 'denied outright: a role without the service\'s permissions boundary would escape it',
};

const operations: readonly Operation[] = ['create', 'read', 'update', 'delete'];

/**
 * The actions with `prefix` (`lambda:`, `iam:`, …) the handlers of `types` call, less those left
 * out on purpose and those in `except` (granted elsewhere, under a condition), sorted.
 */
export function handlerActions(types: readonly string[], prefix: string, except: readonly string[] = []): string[] {
  const actions = new Set<string>();
  for (const type of types) {
    const handlers = handlerPermissions[type];
    if (!handlers) throw new Error(`no handler permissions listed for ${type} (infra/lib/handler-permissions.ts)`);
    for (const operation of operations) for (const action of handlers[operation]) actions.add(action);
  }
  return [...actions].filter((action) => action.startsWith(prefix) && !Object.hasOwn(permissionsNotGranted, action) && !except.includes(action)).sort();
}
