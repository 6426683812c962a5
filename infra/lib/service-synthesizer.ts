import { StackSynthesizer } from 'aws-cdk-lib';
import type { DockerImageAssetLocation, FileAssetLocation, ISynthesisSession } from 'aws-cdk-lib';
import { names } from './names.ts';
import type { ServiceName } from './names.ts';

/**
 * How a pipeline deploys a service stack without the bootstrap roles. The default synthesizer
 * makes the CLI assume `cdk-*-deploy-role` and hand CloudFormation `cdk-*-cfn-exec-role`
 * (AdministratorAccess unless the bootstrap was customised): a build allowed to assume those
 * could change anything in the account. With this one the CLI deploys with the caller's own
 * credentials (the build role, allowed to change this one stack) and CloudFormation acts as
 * the service's deploy role, which may manage only what this stack holds and may create roles
 * only under the service's permissions boundary.
 *
 * The template travels inline (under 50 KiB, kept so by a test), so nothing is uploaded to the
 * bootstrap bucket; the image comes from the service's ECR repository by tag, never as an asset.
 */
export class ServiceDeploySynthesizer extends StackSynthesizer {
  readonly #executionRoleArn: string;

  constructor(service: ServiceName) {
    super();
    // The CLI fills in the placeholders for the account it deploys to.
    this.#executionRoleArn = `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/${names.deployRole(service)}`;
  }

  override addFileAsset(): FileAssetLocation {
    throw new Error('a service stack deployed by its pipeline has no file assets');
  }

  override addDockerImageAsset(): DockerImageAssetLocation {
    throw new Error('a service stack deployed by its pipeline runs a tagged image from ECR, not an image asset');
  }

  override synthesize(session: ISynthesisSession): void {
    this.synthesizeTemplate(session);
    this.emitArtifact(session, { cloudFormationExecutionRoleArn: this.#executionRoleArn });
  }
}
