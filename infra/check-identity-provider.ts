/**
 * A precondition of the gateway's JWT authorizer, checked before a service deploys with it
 * (deploy-service.sh): API Gateway finds the keys that sign the tokens through OpenID Connect
 * discovery, `{jwtIssuer}/.well-known/openid-configuration` and its `jwks_uri`, never through the
 * `jwksUrl` setting (which only the functions use). So, with the authorizer on, that document must
 * answer and name the same JWKS as `jwksUrl`, or API Gateway would check tokens against other keys
 * than the functions do (or reject every one). With the authorizer off there is nothing to check.
 *
 *   node infra/check-identity-provider.ts '<settings as JSON>'
 *
 * Prints one line and exits 1 when the precondition does not hold (DEPLOY.md, "Settings").
 */
export interface IdentitySettings {
  readonly jwksUrl?: string;
  readonly jwtIssuer?: string;
  readonly useJwtAuthorizer?: string;
}

/** Where API Gateway reads the issuer's discovery document (one trailing slash of the issuer dropped, as OIDC discovery does). */
export function discoveryUrl(issuer: string): string {
  return `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
}

/** Undefined when the authorizer can find the keys `jwksUrl` names; else what is wrong and what to do, in one line. */
export async function checkIdentityProvider(settings: IdentitySettings): Promise<string | undefined> {
  if (settings.useJwtAuthorizer !== 'true') return undefined;
  const { jwksUrl, jwtIssuer } = settings;
  if (!jwksUrl || !jwtIssuer) return 'the JWT authorizer is on but jwksUrl or jwtIssuer is not set: deploy the ApiStack with all identity settings (DEPLOY.md, "Settings")';
  const url = discoveryUrl(jwtIssuer);
  const fix = 'the gateway\'s JWT authorizer finds the keys there (DEPLOY.md, "Settings")';
  let document: unknown;
  try {
    // A deploy waits for an answer, not forever: a provider that does not answer in 10 s is down.
    const response = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(10_000) });
    if (!response.ok) return `${url} answers ${response.status}: the issuer must serve its OpenID configuration; ${fix}`;
    document = await response.json();
  } catch (error) {
    return `${url} cannot be read (${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}): the issuer must serve its OpenID configuration; ${fix}`;
  }
  const jwksUri = (document as { jwks_uri?: unknown } | null)?.jwks_uri;
  if (typeof jwksUri !== 'string') return `${url} names no jwks_uri: ${fix}`;
  if (jwksUri !== jwksUrl) return `${url} names jwks_uri ${jwksUri}, but jwksUrl is ${jwksUrl}: set jwksUrl to ${jwksUri} (or fix the issuer); ${fix}`;
  return undefined;
}

if (process.argv[1] && import.meta.filename === (await import('node:fs')).realpathSync(process.argv[1])) {
  const problem = await checkIdentityProvider(JSON.parse(process.argv[2] ?? '{}') as IdentitySettings);
  if (problem) {
    process.stderr.write(`${problem}\n`);
    process.exit(1);
  }
}
