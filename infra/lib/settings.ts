import { Annotations } from 'aws-cdk-lib';
import type { Stack } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { parameters } from './names.ts';

/**
 * The settings a deployment cannot run without. Each comes from context (`-c key=value`,
 * cdk.json or cdk.context.json); the pipelines pass what the ApiStack stored under
 * `/cqrs-es/settings/<key>`. A stack that needs a missing or malformed setting fails synth
 * with one error naming the keys; stacks that need none (DataStack) deploy without them.
 * Nothing falls back to a placeholder that would deploy.
 */
export const settingDocs = {
  jwksUrl: 'https URL of the identity provider JWKS',
  jwtIssuer: 'issuer (iss) of the tokens',
  jwtAudience: 'audience (aud) of the tokens',
  useJwtAuthorizer: 'true or false: API Gateway checks tokens before the functions do',
  connectionArn: 'ARN of the CodeConnections connection to the repository',
  sourceRepository: 'owner/name of the source repository',
  sourceBranch: 'branch the pipelines deploy',
  natImageId: 'AMI id (ami-…) of the NAT instance, Amazon Linux 2023 arm64, in the region deployed to',
} as const;
export type SettingKey = keyof typeof settingDocs;

/** Settings the services deploy with, shared through SSM with the pipelines. */
export const serviceSettingKeys = ['jwksUrl', 'jwtIssuer', 'jwtAudience', 'useJwtAuthorizer'] as const satisfies readonly SettingKey[];
/** Settings with a safe default: the authorizer is an extra check, off unless asked for. */
const defaults: Partial<Record<SettingKey, string>> = { useJwtAuthorizer: 'false', sourceBranch: 'main' };

const checks: Record<SettingKey, (value: string) => boolean> = {
  jwksUrl: (value) => isUrl(value, 'https:'),
  jwtIssuer: (value) => value.trim() !== '',
  jwtAudience: (value) => value.trim() !== '',
  useJwtAuthorizer: (value) => value === 'true' || value === 'false',
  connectionArn: (value) => /^arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:connection\/[\w-]+$/.test(value),
  sourceRepository: (value) => /^[\w.-]+\/[\w.-]+$/.test(value),
  sourceBranch: (value) => /^[\w./-]+$/.test(value),
  natImageId: (value) => /^ami-[0-9a-f]{8}([0-9a-f]{9})?$/.test(value),
};

function isUrl(value: string, protocol: string): boolean {
  try {
    return new URL(value).protocol === protocol;
  } catch {
    return false;
  }
}

/** A context value as a string; absent or empty is undefined. */
export function contextValue(scope: Construct, key: string): string | undefined {
  const value = scope.node.tryGetContext(key) as unknown;
  return value === undefined || value === null || value === '' ? undefined : String(value);
}

/**
 * Reads the settings `stack` needs. When any is missing or malformed, the stack gets one error
 * (the CLI refuses to synth or deploy it, and only it) and the result is undefined: the caller
 * leaves out whatever depended on them rather than deploying a stand-in.
 */
export function requireSettings<K extends SettingKey>(stack: Stack, keys: readonly K[]): Record<K, string> | undefined {
  const values = {} as Record<K, string>;
  const missing: string[] = [];
  const malformed: string[] = [];
  for (const key of keys) {
    const value = contextValue(stack, key) ?? defaults[key];
    if (value === undefined) missing.push(key);
    else if (!checks[key](value)) malformed.push(key);
    else values[key] = value;
  }
  if (missing.length === 0 && malformed.length === 0) return values;
  Annotations.of(stack).addError(settingsError(stack.stackName, missing, malformed));
  return undefined;
}

export function settingsError(stackName: string, missing: readonly string[], malformed: readonly string[]): string {
  const problems = [
    ...(missing.length > 0 ? [`missing setting${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`] : []),
    ...(malformed.length > 0 ? [`malformed ${malformed.map((key) => `${key} (${settingDocs[key as SettingKey]})`).join(', ')}`] : []),
  ];
  const keys = [...missing, ...malformed];
  const example = keys.map((key) => `-c ${key}=<${settingDocs[key as SettingKey]}>`).join(' ');
  const where = keys.every((key) => (serviceSettingKeys as readonly string[]).includes(key))
    ? `the pipelines read ${parameters.settingsPath}<key>, which the ApiStack writes; see DEPLOY.md`
    : 'see DEPLOY.md';
  return `${stackName}: ${problems.join('; ')}: pass ${example} (${where})`;
}

/** The identity provider the services verify tokens against (docs/api.md, identity: JWKS, issuer, audience). */
export interface IdentitySettings {
  readonly jwksUrl: string;
  readonly issuer: string;
  readonly audience: string;
}

export interface ServiceSettings {
  readonly identity: IdentitySettings;
  readonly useJwtAuthorizer: boolean;
}

/** The identity settings of a service stack, or undefined (and an error on the stack). */
export function serviceSettings(stack: Stack): ServiceSettings | undefined {
  const values = requireSettings(stack, serviceSettingKeys);
  if (!values) return undefined;
  return {
    identity: { jwksUrl: values.jwksUrl, issuer: values.jwtIssuer, audience: values.jwtAudience },
    useJwtAuthorizer: values.useJwtAuthorizer === 'true',
  };
}

export const identityEnvironment = (identity: IdentitySettings): Record<string, string> => ({
  JWT_JWKS_URL: identity.jwksUrl,
  JWT_ISSUER: identity.issuer,
  JWT_AUDIENCE: identity.audience,
});
