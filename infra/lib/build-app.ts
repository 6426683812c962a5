import type { App } from 'aws-cdk-lib';
import { ApiStack } from './api-stack.ts';
import { CommandStack } from './command-stack.ts';
import { DataStack } from './data-stack.ts';
import { stackIds } from './names.ts';
import { PipelinesStack } from './pipelines-stack.ts';
import { QueryStack } from './query-stack.ts';

/**
 * Every stack of the app, configured from context:
 * - `jwksUrl`, `jwtIssuer`, `jwtAudience`: the identity provider (required for the services);
 * - `useJwtAuthorizer=true`: API Gateway verifies tokens too;
 * - `commandImageTag`, `queryImageTag`: images the pipelines pushed (else built as assets);
 * - `connectionArn`, `sourceRepository` (owner/name), `sourceBranch`: the pipelines' source.
 */
export function buildApp(app: App) {
  const context = (key: string): string | undefined => {
    const value = app.node.tryGetContext(key) as unknown;
    return value === undefined || value === '' ? undefined : String(value);
  };
  const env = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };
  const identity = {
    jwksUrl: context('jwksUrl') ?? 'https://example.invalid/.well-known/jwks.json',
    issuer: context('jwtIssuer') ?? 'https://example.invalid/',
    audience: context('jwtAudience') ?? 'cqrs-es-example',
  };
  const useJwtAuthorizer = context('useJwtAuthorizer') === 'true';

  const data = new DataStack(app, stackIds.data, { env });
  const api = new ApiStack(app, stackIds.api, {
    env,
    ...(useJwtAuthorizer ? { jwtIssuer: identity.issuer, jwtAudience: identity.audience } : {}),
  });
  const commandTag = context('commandImageTag');
  const queryTag = context('queryImageTag');
  const command = new CommandStack(app, stackIds.command, { env, identity, useJwtAuthorizer, ...(commandTag ? { imageTag: commandTag } : {}) });
  const query = new QueryStack(app, stackIds.query, { env, identity, useJwtAuthorizer, ...(queryTag ? { imageTag: queryTag } : {}) });
  const pipelines = new PipelinesStack(app, stackIds.pipelines, {
    env,
    connectionArn: context('connectionArn') ?? 'arn:aws:codeconnections:us-east-1:000000000000:connection/configure-me',
    repository: context('sourceRepository') ?? 'owner/cqrs-es-example-ts',
    branch: context('sourceBranch') ?? 'main',
  });
  return { data, api, command, query, pipelines };
}
