import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { CfnElement, CfnResource } from 'aws-cdk-lib';
import type { StackProps } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as actions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { handlerActions } from './handler-permissions.ts';
import { acknowledge, acknowledgeWildcards, cfnLintIgnoreRoleDependency, starPolicy } from './nag.ts';
import type { Construct } from 'constructs';
import { names, parameters, prefix, services, stackIds } from './names.ts';
import type { ServiceName } from './names.ts';
import { requireSettings } from './settings.ts';

/** The one principal a service's functions may be invoked by (their routes on the HTTP API). */
const apiGatewayPrincipal = 'apigateway.amazonaws.com';

/**
 * One CodePipeline (V2) per service. Both start on every push; each one's decide stage works out
 * from the service's fingerprint (`npm run affected`) whether anything that ships in it, or how it
 * is deployed, changed, and the run ends there when nothing did. CodePipeline hands over a source
 * archive without git history, which is why change detection looks at content, not at commits.
 *
 * Also the deploy permissions of each service: a build may deploy its own service's stack and
 * nothing else. It runs `cdk deploy` with its own credentials (ServiceDeploySynthesizer: no
 * bootstrap role), may change only that stack, and may pass CloudFormation only the service's
 * deploy role, which manages only what the stack holds and creates roles only under the
 * service's permissions boundary. Needs context `connectionArn` and `sourceRepository`
 * (`sourceBranch` defaults to main).
 */
export class PipelinesStack extends Stack {
  readonly pipelines: Partial<Record<ServiceName, codepipeline.Pipeline>> = {};
  readonly deployRoles = {} as Record<ServiceName, iam.Role>;
  readonly boundaries = {} as Record<ServiceName, iam.ManagedPolicy>;

  constructor(scope: Construct, id: string, props: StackProps = {}) {
    super(scope, id, props);
    for (const service of services) {
      this.boundaries[service] = this.#boundary(service);
      this.deployRoles[service] = this.#deployRole(service);
    }
    const source = requireSettings(this, ['connectionArn', 'sourceRepository', 'sourceBranch']);
    if (!source) return;
    for (const service of services) this.pipelines[service] = this.#pipeline(service, source);
  }

  #arn(service: string, resource: string, resourceName?: string, arnFormat?: ArnFormat) {
    return this.formatArn({ service, resource, ...(resourceName === undefined ? {} : { resourceName }), ...(arnFormat ? { arnFormat } : {}) });
  }

  get #tableArn() {
    return this.#arn('dynamodb', 'table', names.eventsTable);
  }

  #logGroups(service: ServiceName) {
    return this.#arn('logs', 'log-group', `${names.logGroupPrefix(service)}*`, ArnFormat.COLON_RESOURCE_NAME);
  }

  /**
   * The most any role of the service's stack may do (its functions' roles). A boundary is one
   * managed policy, so an acknowledged `*` on it covers all of it: the infra tests pin its
   * statements on `*` instead, and a boundary grants nothing by itself.
   */
  #boundary(service: ServiceName): iam.ManagedPolicy {
    const boundary = new iam.ManagedPolicy(this, `${service}Boundary`, {
      managedPolicyName: names.boundary(service),
      description: `permissions boundary of every role the ${service} stack creates`,
    });
    const allow = (sid: string, actions: string[], resources: string[], wildcards?: string) => {
      const statement = new iam.PolicyStatement({ sid, actions, resources });
      boundary.addStatements(statement);
      if (wildcards) acknowledgeWildcards(boundary, statement, wildcards);
    };
    allow('OwnLogs', ['logs:CreateLogStream', 'logs:PutLogEvents'], [`${this.#logGroups(service)}:*`], 'Log streams are created at run time, under the service\'s own log groups');
    allow('Tracing', ['xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'xray:GetSamplingRules', 'xray:GetSamplingTargets'], ['*'], 'X-Ray takes no narrower resource than *');
    if (service === 'command') {
      allow('AppendToLog', ['dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:DescribeTable'], [this.#tableArn]);
    } else {
      allow('ReadLog', ['dynamodb:Query', 'dynamodb:DescribeTable'], [this.#tableArn]);
      allow('ListStreams', ['dynamodb:ListStreams'], ['*'], 'dynamodb:ListStreams takes no resource; it lists stream ARNs and reads nothing');
      allow(
        'ReadStream',
        ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
        [`${this.#tableArn}/stream/*`],
        'The stream label changes whenever the stream is recreated; this is the events table\'s stream, whatever its label',
      );
      allow(
        'DatabaseCredentials',
        ['secretsmanager:GetSecretValue'],
        [this.#arn('secretsmanager', 'secret', `${names.databaseSecret}-*`, ArnFormat.COLON_RESOURCE_NAME)],
        'Secrets Manager appends a random suffix to the secret\'s name; this is the projection database secret',
      );
      allow('FailureQueue', ['sqs:SendMessage', 'sqs:GetQueueAttributes'], [this.#arn('sqs', names.projectorFailures)]);
      allow(
        'VpcAttachment',
        ['ec2:CreateNetworkInterface', 'ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets', 'ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses'],
        ['*'],
        'Lambda attaches a VPC function through network interfaces it names at run time (what AWSLambdaVPCAccessExecutionRole grants)',
      );
    }
    return boundary;
  }

  /**
   * What CloudFormation acts as when it deploys the service's stack: what the resource handlers of
   * the stack's resource types call (handler-permissions.ts), on that stack's resources only.
   */
  #deployRole(service: ServiceName): iam.Role {
    const boundaryArn = this.boundaries[service].managedPolicyArn;
    const roles = `arn:${this.partition}:iam::${this.account}:role${names.rolePath(service)}*`;
    const functions = names.functions[service].flatMap((fn) => {
      const arn = this.#arn('lambda', 'function', fn, ArnFormat.COLON_RESOURCE_NAME);
      return [arn, `${arn}:*`];
    });
    const apiId = ssm.StringParameter.valueForStringParameter(this, parameters.httpApiId);
    const api = `arn:${this.partition}:apigateway:${this.region}::/apis/${apiId}`;
    const role = new iam.Role(this, `${service}DeployRole`, {
      roleName: names.deployRole(service),
      assumedBy: new iam.ServicePrincipal('cloudformation.amazonaws.com'),
      description: `CloudFormation deploys ${stackIds[service]} as this role, passed by the ${service} build`,
    });
    type Conditions = Record<string, Record<string, unknown>>;
    const allow = (sid: string, actions: string[], resources: string[], options: { conditions?: Conditions; wildcards?: string } = {}) => {
      const statement = new iam.PolicyStatement({ sid, actions, resources, ...(options.conditions ? { conditions: options.conditions } : {}) });
      role.addToPolicy(statement);
      if (options.wildcards) acknowledgeWildcards(role, statement, options.wildcards);
    };
    // Actions that take no narrower resource than *: each in a policy of its own (nag.ts).
    const allowOnAnything = (sid: string, actions: string[], reason: string, conditions?: Conditions) =>
      starPolicy(role, sid, new iam.PolicyStatement({ sid, actions, resources: ['*'], ...(conditions ? { conditions } : {}) }), reason);
    const deny = (sid: string, actions: string[], conditions?: Conditions) =>
      role.addToPolicy(new iam.PolicyStatement({ sid, effect: iam.Effect.DENY, actions, resources: ['*'], ...(conditions ? { conditions } : {}) }));

    allow('ReadSettings', ['ssm:GetParameters', 'ssm:GetParameter'], [this.#arn('ssm', 'parameter', `${prefix}/*`)], {
      wildcards: 'The stack\'s SSM parameters (ids of shared resources, settings) are resolved at deploy time; all are non-secret and under the app\'s prefix',
    });

    // Roles of its functions: only under the service's path, only with its boundary. A role's
    // trust policy cannot be constrained by IAM; DEPLOY.md says what that leaves open.
    const bounded = 'Roles the stack creates have generated names; the service\'s IAM path and its permissions boundary are what bound them';
    const underBoundary = ['iam:CreateRole', 'iam:PutRolePolicy', 'iam:DeleteRolePolicy', 'iam:PutRolePermissionsBoundary'];
    allow('CreateBoundedRoles', underBoundary, [roles], { conditions: { StringEquals: { 'iam:PermissionsBoundary': boundaryArn } }, wildcards: bounded });
    allow('ManageBoundedRoles', handlerActions(['AWS::IAM::Role', 'AWS::IAM::Policy'], 'iam:', underBoundary), [roles], { wildcards: bounded });
    allow('PassBoundedRolesToLambda', ['iam:PassRole'], [roles], { conditions: { StringEquals: { 'iam:PassedToService': 'lambda.amazonaws.com' } }, wildcards: bounded });
    deny('KeepTheBoundary', ['iam:DeleteRolePermissionsBoundary', 'iam:CreatePolicyVersion', 'iam:SetDefaultPolicyVersion', 'iam:DeletePolicy', 'iam:DeletePolicyVersion']);

    // Its functions, and who may invoke them: API Gateway only. No function URL, no policy that
    // names another principal (an account, *), whatever a later statement might allow.
    allow('OwnFunctions', handlerActions(['AWS::Lambda::Function', 'AWS::Lambda::Permission'], 'lambda:', ['lambda:AddPermission']), functions, {
      wildcards: 'The service\'s functions by name, and their versions (name:version)',
    });
    allow('InvokedByApiGatewayOnly', ['lambda:AddPermission'], functions, {
      conditions: { StringEquals: { 'lambda:Principal': apiGatewayPrincipal } },
      wildcards: 'The service\'s functions by name, and their versions (name:version)',
    });
    deny('NoOtherInvoker', ['lambda:AddPermission'], { StringNotEquals: { 'lambda:Principal': apiGatewayPrincipal } });
    // A function's resource policy holds only what AddPermission adds (Lambda has no call that sets
    // it wholesale), so the two statements above decide who may invoke; a function URL is the one
    // other way in, and is denied outright.
    deny('NoPublicFunctions', ['lambda:CreateFunctionUrlConfig', 'lambda:UpdateFunctionUrlConfig']);
    // Lambda reads the image as the caller when it creates or updates an image function.
    allow('FunctionImage', ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:GetRepositoryPolicy'], [this.#arn('ecr', 'repository', names.repository(service))]);
    allowOnAnything(
      'DescribeNetwork',
      handlerActions(['AWS::Lambda::Function'], 'ec2:'),
      'Lambda checks the subnets and security groups of a VPC function as its creator, and waits for its network interfaces on delete; EC2 Describe calls take no resource and change nothing',
    );

    const logGroups = this.#logGroups(service);
    allow('OwnLogGroups', handlerActions(['AWS::Logs::LogGroup'], 'logs:', ['logs:DescribeLogGroups']), [logGroups, `${logGroups}:*`], {
      wildcards: 'The service\'s log groups, by their name prefix',
    });
    allow('FindLogGroups', ['logs:DescribeLogGroups'], [this.#arn('logs', 'log-group', '*', ArnFormat.COLON_RESOURCE_NAME)], {
      wildcards: 'DescribeLogGroups lists; it is scoped to log groups and reads only their names and settings',
    });
    allow('OwnAlarms', handlerActions(['AWS::CloudWatch::Alarm'], 'cloudwatch:'), [this.#arn('cloudwatch', 'alarm', `${names.alarmPrefix(service)}*`, ArnFormat.COLON_RESOURCE_NAME)], {
      wildcards: 'The service\'s alarms, by their name prefix',
    });
    allow('OwnDashboard', handlerActions(['AWS::CloudWatch::Dashboard'], 'cloudwatch:'), [
      `arn:${this.partition}:cloudwatch::${this.account}:dashboard/${names.dashboard(service)}`,
    ]);
    // Routes and integrations on the shared API: IAM cannot tell one service's routes from the
    // other's (route ids are random), so this is as narrow as API Gateway allows (DEPLOY.md, "Who
    // may deploy what", says what that leaves open).
    allow(
      'RoutesOnTheSharedApi',
      handlerActions(['AWS::ApiGatewayV2::Route', 'AWS::ApiGatewayV2::Integration'], 'apigateway:'),
      [`${api}/routes`, `${api}/routes/*`, `${api}/integrations`, `${api}/integrations/*`],
      { wildcards: 'Route and integration ids are random; these are the routes and integrations of the one shared HTTP API, not the API, its stage or its authorizer' },
    );
    allow('ReadTheSharedApi', ['apigateway:GET'], [api]);

    if (service === 'query') {
      const projector = this.#arn('lambda', 'function', names.projectorFunction, ArnFormat.COLON_RESOURCE_NAME);
      const forTheProjector = { ArnLike: { 'lambda:FunctionArn': [projector, `${projector}:*`] } };
      const mappings = this.#arn('lambda', 'event-source-mapping', '*', ArnFormat.COLON_RESOURCE_NAME);
      // CreateEventSourceMapping takes no resource (the mapping does not exist yet); the
      // condition holds it to the projector. Changes and deletes act on the mapping, also only
      // the projector's; reading and tagging a mapping changes nothing it does.
      allowOnAnything('ProjectorEventSource', ['lambda:CreateEventSourceMapping'], 'CreateEventSourceMapping takes no resource; the lambda:FunctionArn condition holds it to the projector function', forTheProjector);
      allow('ProjectorEventSourceChanges', ['lambda:UpdateEventSourceMapping', 'lambda:DeleteEventSourceMapping'], [mappings], {
        conditions: forTheProjector,
        wildcards: 'Event source mappings have random ids; the condition holds changes to the projector\'s',
      });
      allow('ReadAndTagEventSources', handlerActions(['AWS::Lambda::EventSourceMapping'], 'lambda:', ['lambda:CreateEventSourceMapping', 'lambda:UpdateEventSourceMapping', 'lambda:DeleteEventSourceMapping']), [mappings], {
        wildcards: 'Event source mappings have random ids; reading and tagging one changes nothing it does',
      });
      allow('FailureQueue', handlerActions(['AWS::SQS::Queue', 'AWS::SQS::QueuePolicy'], 'sqs:'), [this.#arn('sqs', names.projectorFailures)]);
    }
    return role;
  }

  /**
   * What both pipelines share: the build cache (node_modules per lockfile, for the decide stage,
   * which starts without any) and the pull-through cache of the images' public base images.
   */
  #shared() {
    if (this.#sharedResources) return this.#sharedResources;
    const cache = new s3.Bucket(this, 'BuildCache', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      // A cache: an old lockfile's node_modules are never needed again, and a miss only costs an npm ci.
      lifecycleRules: [{ expiration: Duration.days(30), abortIncompleteMultipartUploadAfter: Duration.days(1) }],
      // Kept when the stack is deleted (a bucket with objects cannot be deleted); its objects
      // expire all the same, and an empty bucket costs nothing.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // Written once per key: a write must say If-None-Match, so an object is never replaced, and a
    // tarball poisoned by one push cannot outlive it under a key the reverted tree uses again.
    cache.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'WriteOnce',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:PutObject'],
        resources: [cache.arnForObjects('*')],
        conditions: { Null: { 's3:if-none-match': 'true' } },
      }),
    );
    acknowledge(cache, 'A cache of node_modules tarballs that builds write and read; access logs would need a second bucket and CloudTrail records who changed it', 'AwsSolutions-S1');
    // ECR Public needs no credentials upstream. A build pulls <registry>/cqrs-es-public/<image>,
    // and ECR keeps the image in a repository of that name in the account (synced within 24 h).
    new ecr.CfnPullThroughCacheRule(this, 'PublicImageCache', {
      ecrRepositoryPrefix: names.publicImageCache,
      upstreamRegistryUrl: 'public.ecr.aws',
    });
    this.#sharedResources = { cache };
    return this.#sharedResources;
  }

  #sharedResources?: { cache: s3.Bucket };

  /**
   * A service's pipeline: Source → Decide → Ship. Decide (CodeBuild on Lambda compute, which starts
   * in seconds) restores node_modules from the build cache and runs deploy-service.sh's decide
   * step: pin, settings, bundles, fingerprint. Ship (CodeBuild on EC2 with Docker) is entered only
   * when that says CHANGED=true; it builds the image and deploys the image alone, or the stack
   * when the stack's part of the fingerprint changed. No tests run here: the branch's CI ran them
   * (DEPLOY.md, "What guards a deploy").
   */
  #pipeline(service: ServiceName, source: Record<'connectionArn' | 'sourceRepository' | 'sourceBranch', string>): codepipeline.Pipeline {
    const [owner, repo] = source.sourceRepository.split('/') as [string, string];
    const { cache } = this.#shared();
    const sourced = new codepipeline.Artifact(`${service}Source`);
    const decided = new codepipeline.Artifact(`${service}Decided`);
    const stackArn = this.#arn('cloudformation', 'stack', `${stackIds[service]}/*`);
    const repositoryArn = this.#arn('ecr', 'repository', names.repository(service));
    const functionArns = names.functions[service].map((fn) => this.#arn('lambda', 'function', fn, ArnFormat.COLON_RESOURCE_NAME));
    const registry = `${this.account}.dkr.ecr.${this.region}.${this.urlSuffix}`;
    // What deploy-service.sh is told in both stages (by hand it derives the same from names.ts).
    const environmentVariables: Record<string, codebuild.BuildEnvironmentVariable> = {
      SERVICE: { value: service },
      STACK: { value: stackIds[service] },
      REPOSITORY_URI: { value: `${registry}/${names.repository(service)}` },
      FUNCTIONS: { value: names.functions[service].join(' ') },
      FINGERPRINT_PARAMETER: { value: parameters.deployedFingerprint(service) },
      STACK_PARAMETER: { value: parameters.deployedStack(service) },
      PINNED_PARAMETER: { value: parameters.pinned(service) },
      DEPS_BUCKET: { value: cache.bucketName },
    };

    const decide = new codebuild.PipelineProject(this, `${service}Decide`, {
      projectName: `${prefix}-${service}-decide`,
      buildSpec: codebuild.BuildSpec.fromSourceFilename('infra/buildspecs/decide.yml'),
      environment: {
        // Lambda compute: no queue, no instance to provision; the image is Node.js 22 itself.
        buildImage: codebuild.LinuxArmLambdaBuildImage.AMAZON_LINUX_2023_NODE_22,
        computeType: codebuild.ComputeType.LAMBDA_4GB,
      },
      environmentVariables,
      // (Lambda compute takes no build timeout of its own: 15 minutes at most.)
    });
    // Not cqrs-es-<service>: the previous release's build project holds that name under another
    // logical id, and CloudFormation creates the new project before it deletes the old one.
    const ship = new codebuild.PipelineProject(this, `${service}Ship`, {
      projectName: `${prefix}-${service}-ship`,
      buildSpec: codebuild.BuildSpec.fromSourceFilename('infra/buildspecs/ship.yml'),
      environment: {
        buildImage: codebuild.LinuxArmBuildImage.AMAZON_LINUX_2023_STANDARD_3_0,
        computeType: codebuild.ComputeType.LARGE,
        // docker build needs the daemon
        privileged: true,
      },
      environmentVariables: { ...environmentVariables, BASE_REGISTRY: { value: `${registry}/${names.publicImageCache}` } },
      cache: codebuild.Cache.local(codebuild.LocalCacheMode.DOCKER_LAYER),
      timeout: Duration.minutes(20),
    });

    type Options = { conditions?: Record<string, unknown>; wildcards?: string };
    const allow = (project: codebuild.PipelineProject, actions: string[], resources: string[], options: Options = {}) => {
      const statement = new iam.PolicyStatement({ actions, resources, ...(options.conditions ? { conditions: options.conditions } : {}) });
      project.role!.addToPrincipalPolicy(statement);
      if (options.wildcards) acknowledgeWildcards(project.role!, statement, options.wildcards);
    };
    const deps = cache.arnForObjects('deps/*');
    const cacheReason = 'node_modules tarballs are named by lockfile hash, under deps/ in the build cache bucket';
    for (const project of [decide, ship]) {
      // The settings and shared ids (also what CloudFormation resolves for the stack's SSM
      // parameters as the caller), the fingerprints and the pin.
      allow(project, ['ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParametersByPath'], [this.#arn('ssm', 'parameter', prefix), this.#arn('ssm', 'parameter', `${prefix}/*`)], {
        wildcards: 'The app\'s parameters hold settings, ids of shared resources and fingerprints, none secret; writes are limited to the service\'s own below',
      });
      allow(project, ['s3:GetObject', 's3:PutObject'], [deps], { wildcards: cacheReason });
    }
    // A rollback by hand writes the pin; a pipeline may only check it, and records its fingerprints.
    allow(ship, ['ssm:PutParameter'], [parameters.deployedFingerprint(service), parameters.deployedStack(service)].map((name) => this.#arn('ssm', 'parameter', name.slice(1))));
    starPolicy(
      ship.role!,
      'RegistryLogin',
      new iam.PolicyStatement({ actions: ['ecr:GetAuthorizationToken'], resources: ['*'] }),
      'ecr:GetAuthorizationToken takes no resource; pushes are limited to the service\'s repository below',
    );
    // (GetRepositoryPolicy: Lambda checks the repository's policy as the caller of UpdateFunctionCode.)
    allow(ship, ['ecr:BatchCheckLayerAvailability', 'ecr:InitiateLayerUpload', 'ecr:UploadLayerPart', 'ecr:CompleteLayerUpload', 'ecr:PutImage', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:GetRepositoryPolicy', 'ecr:DescribeImages'], [repositoryArn]);
    // Base images through the pull-through cache: the first pull of one creates its repository.
    allow(
      ship,
      ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchImportUpstreamImage', 'ecr:CreateRepository'],
      [this.#arn('ecr', 'repository', `${names.publicImageCache}/*`)],
      { wildcards: 'The pull-through cache names its repositories after the public images it keeps, under the app\'s prefix' },
    );
    // An image-only deploy: the service's functions get the new image (Lambda reads it from the
    // repository above as the caller), and nothing else about them changes.
    allow(ship, ['lambda:GetFunction', 'lambda:UpdateFunctionCode'], functionArns);
    // `cdk deploy <its stack>` with its own credentials: that one stack, and the deploy role.
    allow(
      ship,
      ['cloudformation:CreateChangeSet', 'cloudformation:DescribeChangeSet', 'cloudformation:ExecuteChangeSet', 'cloudformation:DeleteChangeSet', 'cloudformation:DescribeStacks', 'cloudformation:DescribeStackEvents', 'cloudformation:DescribeStackResources', 'cloudformation:ListStackResources', 'cloudformation:GetTemplate', 'cloudformation:GetTemplateSummary'],
      [stackArn, this.#arn('cloudformation', 'changeSet', 'cdk-deploy-change-set/*')],
      { wildcards: 'Stack and change set ARNs end in an id CloudFormation makes up; the names are the service\'s stack and the CLI\'s change set' },
    );
    allow(ship, ['iam:PassRole'], [this.deployRoles[service].roleArn], { conditions: { StringEquals: { 'iam:PassedToService': 'cloudformation.amazonaws.com' } } });

    // The service was renamed from CodeStar Connections to CodeConnections: a connection made
    // today has a codeconnections ARN, an older one a codestar-connections ARN, and IAM matches
    // the action's prefix. The action role gets both, on the connection whatever its prefix.
    const sourceRole = new iam.Role(this, `${service}SourceRole`, {
      assumedBy: new iam.AccountRootPrincipal(),
      description: `reads the repository for the ${service} pipeline`,
    });
    sourceRole.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['codeconnections:UseConnection', 'codestar-connections:UseConnection'], resources: [source.connectionArn] }),
    );
    const sourceAction = new actions.CodeStarConnectionsSourceAction({
      actionName: 'Source',
      role: sourceRole,
      connectionArn: source.connectionArn,
      owner,
      repo,
      branch: source.sourceBranch,
      output: sourced,
      // a plain archive: what ships is judged by content, not git history
      codeBuildCloneOutput: false,
    });
    const decideAction = new actions.CodeBuildAction({ actionName: 'Decide', project: decide, input: sourced, outputs: [decided], variablesNamespace: 'Decide' });
    const shipAction = new actions.CodeBuildAction({
      actionName: 'Ship',
      project: ship,
      input: decided,
      environmentVariables: { EXPECTED_FINGERPRINT: { value: decideAction.variable('FINGERPRINT') } },
    });
    const pipeline = new codepipeline.Pipeline(this, `${service}Pipeline`, {
      pipelineName: `${prefix}-${service}`,
      pipelineType: codepipeline.PipelineType.V2,
      // One run at a time, each to its end: a run that decided while an older one was still in
      // Ship would compare with a fingerprint about to be replaced (a revert would be skipped).
      executionMode: codepipeline.ExecutionMode.QUEUED,
      restartExecutionOnUpdate: false,
      stages: [
        { stageName: 'Source', actions: [sourceAction] },
        { stageName: 'Decide', actions: [decideAction] },
        {
          stageName: 'Ship',
          // Entered only when the decide step found a change; otherwise skipped, and the run
          // ends there, succeeded.
          beforeEntry: {
            conditions: [
              {
                result: codepipeline.Result.SKIP,
                rules: [
                  new codepipeline.Rule({
                    name: `${service}Changed`,
                    provider: 'VariableCheck',
                    version: '1',
                    configuration: { Variable: decideAction.variable('CHANGED'), Value: 'true', Operator: 'EQ' },
                  }),
                ],
              },
            ],
          },
          actions: [shipAction],
        },
      ],
    });
    cfnLintIgnoreRoleDependency(pipeline.node.defaultChild as CfnResource);
    // What CDK grants the pipeline, its source action and the builds on the artifact bucket.
    const bucket = `<${this.getLogicalId(pipeline.artifactBucket.node.defaultChild as CfnElement)}.Arn>/*`;
    const artifacts = ['Action::s3:GetObject*', 'Action::s3:GetBucket*', 'Action::s3:List*', 'Action::s3:DeleteObject*', 'Action::s3:Abort*', `Resource::${bucket}`];
    for (const scope of [pipeline, sourceRole, decide, ship]) {
      acknowledge(scope, 'Generated by CDK: read and write of pipeline artifacts, whose keys are made per execution, in the pipeline\'s own bucket', ...artifacts.map((f) => `AwsSolutions-IAM5[${f}]`));
    }
    for (const project of [decide, ship]) {
      const projectId = this.getLogicalId(project.node.defaultChild as CfnElement);
      acknowledge(
        project,
        'Generated by CDK: the build\'s own log streams and test report groups, named per build',
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/codebuild/<${projectId}>:*]`,
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:codebuild:<AWS::Region>:<AWS::AccountId>:report-group/<${projectId}>-*]`,
      );
      acknowledge(project, 'Build output is encrypted with the AWS managed key; a customer key would cost $1/month and protect nothing more here', 'AwsSolutions-CB4');
    }
    acknowledge(
      pipeline,
      'The artifact bucket holds build inputs; access logs would need a second bucket, and CloudTrail already records who ran the pipeline',
      'AwsSolutions-S1',
    );
    return pipeline;
  }
}
