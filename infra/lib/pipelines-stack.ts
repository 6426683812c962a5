import { Duration, Stack } from 'aws-cdk-lib';
import type { StackProps } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as actions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import type { Construct } from 'constructs';
import { names, parameters, prefix, services, stackIds } from './names.ts';
import type { ServiceName } from './names.ts';

export interface PipelinesStackProps extends StackProps {
  /** ARN of the CodeConnections (CodeStar) connection to the source repository. */
  readonly connectionArn: string;
  /** owner/name of the source repository. */
  readonly repository: string;
  readonly branch: string;
}

/**
 * One CodePipeline (V2) per service. Both start on every push; each one's CodeBuild step works out
 * from the service's fingerprint (`npm run affected`) whether anything that ships in it changed,
 * and stops early when nothing did. CodePipeline hands over a source archive without git history,
 * which is why change detection looks at content, not at commits.
 */
export class PipelinesStack extends Stack {
  readonly pipelines: Record<ServiceName, codepipeline.Pipeline>;

  constructor(scope: Construct, id: string, props: PipelinesStackProps) {
    super(scope, id, props);
    this.pipelines = Object.fromEntries(services.map((service) => [service, this.#pipeline(service, props)])) as Record<
      ServiceName,
      codepipeline.Pipeline
    >;
  }

  #pipeline(service: ServiceName, props: PipelinesStackProps): codepipeline.Pipeline {
    const [owner, repo] = props.repository.split('/');
    const source = new codepipeline.Artifact(`${service}Source`);
    const project = new codebuild.PipelineProject(this, `${service}Build`, {
      projectName: `${prefix}-${service}`,
      buildSpec: codebuild.BuildSpec.fromSourceFilename(`infra/buildspecs/${service}.yml`),
      environment: {
        buildImage: codebuild.LinuxArmBuildImage.AMAZON_LINUX_2023_STANDARD_3_0,
        computeType: codebuild.ComputeType.LARGE,
        // docker build needs the daemon
        privileged: true,
      },
      environmentVariables: {
        SERVICE: { value: service },
        REPOSITORY_URI: { value: `${this.account}.dkr.ecr.${this.region}.amazonaws.com/${names.repository(service)}` },
        FINGERPRINT_PARAMETER: { value: parameters.deployedFingerprint(service) },
        STACK: { value: stackIds[service] },
      },
      cache: codebuild.Cache.local(codebuild.LocalCacheMode.DOCKER_LAYER, codebuild.LocalCacheMode.CUSTOM),
      timeout: Duration.minutes(20),
    });
    const role = project.role!;
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['ecr:GetAuthorizationToken'], resources: ['*'] }));
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['ecr:BatchCheckLayerAvailability', 'ecr:InitiateLayerUpload', 'ecr:UploadLayerPart', 'ecr:CompleteLayerUpload', 'ecr:PutImage', 'ecr:BatchGetImage', 'ecr:DescribeImages'],
        resources: [this.formatArn({ service: 'ecr', resource: 'repository', resourceName: names.repository(service) })],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['ssm:GetParameter', 'ssm:PutParameter'],
        resources: [this.formatArn({ service: 'ssm', resource: 'parameter', resourceName: parameters.deployedFingerprint(service).slice(1) })],
      }),
    );
    // `cdk deploy` runs through the bootstrap roles, which hold the deploy permissions.
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['sts:AssumeRole'], resources: [`arn:${this.partition}:iam::${this.account}:role/cdk-*`] }),
    );
    new ssm.StringParameter(this, `${service}FingerprintParameter`, {
      parameterName: parameters.deployedFingerprint(service),
      stringValue: 'none',
      description: `fingerprint of the deployed ${service} service (written by its pipeline)`,
    });

    return new codepipeline.Pipeline(this, `${service}Pipeline`, {
      pipelineName: `${prefix}-${service}`,
      pipelineType: codepipeline.PipelineType.V2,
      restartExecutionOnUpdate: false,
      stages: [
        {
          stageName: 'Source',
          actions: [
            new actions.CodeStarConnectionsSourceAction({
              actionName: 'Source',
              connectionArn: props.connectionArn,
              owner: owner!,
              repo: repo!,
              branch: props.branch,
              output: source,
              // a plain archive: what ships is judged by content, not git history
              codeBuildCloneOutput: false,
            }),
          ],
        },
        {
          stageName: 'BuildAndDeploy',
          actions: [new actions.CodeBuildAction({ actionName: 'TestBuildDeploy', project, input: source })],
        },
      ],
    });
  }
}
