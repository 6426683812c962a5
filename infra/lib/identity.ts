/** The identity provider the services verify tokens against (SPEC §2: JWKS, issuer, audience). */
export interface IdentitySettings {
  readonly jwksUrl: string;
  readonly issuer: string;
  readonly audience: string;
}

export const identityEnvironment = (identity: IdentitySettings): Record<string, string> => ({
  JWT_JWKS_URL: identity.jwksUrl,
  JWT_ISSUER: identity.issuer,
  JWT_AUDIENCE: identity.audience,
});
