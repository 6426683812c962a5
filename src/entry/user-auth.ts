import type { Plugin, ServerRegisterPluginObject } from '@hapi/hapi';
import Validate from '@hapi/validate';
import { httpUrl } from '../shared/config.ts';
import { authPlugin } from '../shared/auth.ts';
import type { AuthOptions } from '../shared/auth.ts';

/** How a deployed service with user routes (command, query API) verifies bearer tokens. */
export interface UserAuthConfig {
  readonly JWT_SECRET?: string;
  readonly JWT_JWKS_URL?: string;
  readonly JWT_ISSUER?: string;
  readonly JWT_AUDIENCE?: string;
  /** The longest a token may live, in seconds (24 h when unset). */
  readonly JWT_MAX_LIFETIME?: number;
}

/**
 * JWT_SECRET (HS256, outside AWS), or the identity provider's JWKS URL with its issuer and
 * audience, all three together: a JWKS without them would accept any issuer's tokens.
 */
export const userAuthSchema = Validate.object<UserAuthConfig>({
  JWT_SECRET: Validate.string().min(16),
  JWT_JWKS_URL: httpUrl(),
  JWT_ISSUER: Validate.string(),
  JWT_AUDIENCE: Validate.string(),
  JWT_MAX_LIFETIME: Validate.number().integer().min(60).max(30 * 24 * 60 * 60),
})
  .xor('JWT_SECRET', 'JWT_JWKS_URL')
  .and('JWT_JWKS_URL', 'JWT_ISSUER', 'JWT_AUDIENCE')
  .messages({
    'object.missing': 'set JWT_JWKS_URL (or JWT_SECRET outside AWS)',
    'object.xor': 'set either JWT_JWKS_URL or JWT_SECRET, not both',
    'object.and': 'set JWT_JWKS_URL, JWT_ISSUER and JWT_AUDIENCE together',
  });

export function authOptions(config: UserAuthConfig): AuthOptions {
  const lifetime = config.JWT_MAX_LIFETIME === undefined ? {} : { maxLifetimeSeconds: config.JWT_MAX_LIFETIME };
  return config.JWT_JWKS_URL
    ? { jwksUrl: config.JWT_JWKS_URL, issuer: config.JWT_ISSUER!, audience: config.JWT_AUDIENCE!, ...lifetime }
    : { secret: config.JWT_SECRET!, ...lifetime };
}

/** The `auth` plugin configured from the settings; registered before the module's routes. */
export function userAuth(config: UserAuthConfig): ServerRegisterPluginObject<unknown> {
  return { plugin: authPlugin as Plugin<unknown>, options: authOptions(config) };
}
