import type { App } from 'aws-cdk-lib';
import { ApiStack } from './api-stack.ts';
import { CommandStack } from './command-stack.ts';
import { DataStack } from './data-stack.ts';
import { stackIds } from './names.ts';
import type { ServiceName } from './names.ts';
import { PipelinesStack } from './pipelines-stack.ts';
import { QueryStack } from './query-stack.ts';
import { ServiceDeploySynthesizer } from './service-synthesizer.ts';
import { contextValue } from './settings.ts';

/**
 * Every stack of the app, configured from context (settings.ts lists the settings):
 * - `jwksUrl`, `jwtIssuer`, `jwtAudience`, `useJwtAuthorizer`: the identity provider (ApiStack,
 *   CommandStack, QueryStack);
 * - `connectionArn`, `sourceRepository` (owner/name), `sourceBranch`: the pipelines' source;
 * - `commandImageTag`, `queryImageTag`: images the pipelines pushed (else built as assets);
 * - `alarmEmail`: an address subscribed to the alarms (optional).
 *
 * A stack whose settings are missing carries one error: the CLI refuses to synth or deploy that
 * stack, and only that one.
 */
export function buildApp(app: App): ReturnType<typeof buildAll>;
export function buildApp(app: App, only: ServiceName): Pick<ReturnType<typeof buildAll>, ServiceName>;
export function buildApp(app: App, only?: ServiceName) {
  if (only) {
    // One service stack alone (`npm run affected`): it references no other stack, so its
    // template is the same as in the whole app.
    return { [only]: buildService(app, only) } as Pick<ReturnType<typeof buildAll>, ServiceName>;
  }
  return buildAll(app);
}

function buildService(app: App, name: ServiceName) {
  const imageTag = contextValue(app, `${name}ImageTag`);
  // A tagged image is a pipeline deploy (or a rollback): deployed without bootstrap roles.
  const props = imageTag ? { imageTag, synthesizer: new ServiceDeploySynthesizer(name) } : {};
  return name === 'command' ? new CommandStack(app, stackIds.command, props) : new QueryStack(app, stackIds.query, props);
}

function buildAll(app: App) {
  // The shared stacks take the CLI's account and region; the service stacks stay
  // environment-agnostic, so their templates (and fingerprints) are the same in every account.
  const env = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };
  const data = new DataStack(app, stackIds.data, { env });
  const api = new ApiStack(app, stackIds.api, { env });
  const command = buildService(app, 'command') as CommandStack;
  const query = buildService(app, 'query') as QueryStack;
  const pipelines = new PipelinesStack(app, stackIds.pipelines, { env });
  return { data, api, command, query, pipelines };
}
