import * as path from 'node:path';
import { IgnoreMode } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { names, services } from './names.ts';
import type { ServiceName } from './names.ts';

export const repositoryRoot = path.resolve(import.meta.dirname, '..', '..');

/**
 * The service's image, and optionally the command a function runs from it (the query image
 * serves the query API and the projector; each function picks its bundle by command).
 *
 * The pipeline passes the tag it pushed (`-c <service>ImageTag=<fingerprint>`) and the function
 * uses that image from the service's ECR repository. Without a tag (a local `cdk synth` or a
 * deploy by hand) the image is an asset built from the Dockerfile, with a context that
 * `.dockerignore` cuts down to the bundles, so synth never copies node_modules.
 */
export function serviceImage(scope: Construct, service: ServiceName, tag: string | undefined, cmd?: string[]): lambda.DockerImageCode {
  const command = cmd ? { cmd } : {};
  if (tag) {
    const id = `${service}Repository`;
    const repository = (scope.node.tryFindChild(id) as ecr.IRepository | undefined) ?? ecr.Repository.fromRepositoryName(scope, id, names.repository(service));
    return lambda.DockerImageCode.fromEcr(repository, { tagOrDigest: tag, ...command });
  }
  return lambda.DockerImageCode.fromImageAsset(repositoryRoot, {
    file: `Dockerfile.${service}`,
    ignoreMode: IgnoreMode.DOCKER,
    // .dockerignore keeps every bundle; each image's context holds only its own, so a change
    // to one service never changes the other's asset hash.
    exclude: imageExcludes(service),
    // The same single-arch arm64 image the pipeline builds with --provenance=false.
    platform: Platform.LINUX_ARM64,
    buildArgs: {},
    ...command,
  });
}

/** The bundles each image ships (the query image carries the projector too). */
export const imageBundles: Record<ServiceName, readonly string[]> = { command: ['command'], query: ['query', 'projector'] };

function imageExcludes(service: ServiceName): string[] {
  const others = services.filter((other) => other !== service).flatMap((other) => imageBundles[other]);
  return others.filter((bundle) => !imageBundles[service].includes(bundle)).map((bundle) => `dist/${bundle}/`);
}
