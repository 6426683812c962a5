import * as path from 'node:path';
import { IgnoreMode } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { names } from './names.ts';
import type { ServiceName } from './names.ts';

export const repositoryRoot = path.resolve(import.meta.dirname, '..', '..');

/** The bundles (dist/<bundle>/) each service's image ships. */
export const imageBundles: Record<ServiceName, readonly string[]> = { command: ['command'], query: ['query', 'projector'] };

/**
 * The service's image. The pipeline passes the tag it pushed (`-c <service>ImageTag=<fingerprint>`)
 * and the function uses that image from the service's ECR repository. Without a tag (a local
 * `cdk synth` or a manual deploy) the image is an asset built from the Dockerfile, with a context
 * that `.dockerignore` cuts down to the bundle, so synth never copies node_modules.
 */
export function serviceImage(scope: Construct, service: ServiceName, tag: string | undefined): lambda.DockerImageCode {
  if (tag) {
    const repository = ecr.Repository.fromRepositoryName(scope, 'Repository', names.repository(service));
    return lambda.DockerImageCode.fromEcr(repository, { tagOrDigest: tag });
  }
  return lambda.DockerImageCode.fromImageAsset(repositoryRoot, {
    file: `Dockerfile.${service}`,
    ignoreMode: IgnoreMode.DOCKER,
    // .dockerignore keeps every bundle; each image's context holds only its own, so a change
    // to one service never changes the other's asset hash.
    exclude: Object.entries(imageBundles).flatMap(([other, bundles]) => (other === service ? [] : bundles.map((bundle) => `dist/${bundle}/`))),
    // The same single-arch arm64 image the pipeline builds with --provenance=false.
    platform: Platform.LINUX_ARM64,
    buildArgs: {},
  });
}
