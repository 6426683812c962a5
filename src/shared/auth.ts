import type { Plugin, Request, ResponseToolkit } from '@hapi/hapi';
import Jwt from '@hapi/jwt';
import Joi from 'joi';

/** The name of the auth strategy every /command/v1 and /query/v1 route uses. */
export const userAuth = 'user';

export interface AuthOptions {
  /** HS256 shared secret (local and development). */
  readonly secret?: string;
  /** JWKS endpoint of the identity provider (AWS); takes the place of `secret`. */
  readonly jwksUrl?: string;
  readonly issuer?: string;
  readonly audience?: string;
}

/** What a route sees as `request.auth.credentials`: the caller, from the token's `sub`. */
export interface UserCredentials {
  readonly userId: string;
}

const optionsSchema = Joi.object<AuthOptions>({
  secret: Joi.string().min(16),
  jwksUrl: Joi.string().uri({ scheme: ['https', 'http'] }),
  issuer: Joi.string(),
  audience: Joi.string(),
}).xor('secret', 'jwksUrl');

const subjectPattern = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Bearer-JWT authentication shared by both modules: registers the `user` strategy. The `sub`
 * claim is the caller's user id; a token must expire (`exp`) and be signed with an expected
 * algorithm (never `none`).
 *
 * @example
 * await server.register({ plugin: authPlugin, options: { secret: process.env.JWT_SECRET } });
 * server.route({ method: 'GET', path: '/me', options: { auth: userAuth }, handler: (r) => r.auth.credentials });
 */
export const authPlugin: Plugin<AuthOptions> = {
  name: 'auth',
  async register(server, rawOptions) {
    const options = Joi.attempt(rawOptions, optionsSchema, 'auth plugin options:');
    await server.register(Jwt);
    server.auth.strategy(userAuth, 'jwt', {
      keys: options.jwksUrl
        ? { uri: options.jwksUrl, algorithms: ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512'] }
        : { key: options.secret, algorithms: ['HS256'] },
      verify: {
        aud: options.audience ?? false,
        iss: options.issuer ?? false,
        sub: false,
        nbf: true,
        exp: true,
        maxAgeSec: 0,
        timeSkewSec: 30,
      },
      validate: (artifacts: { decoded: { payload: Record<string, unknown> } }, _request: Request, _h: ResponseToolkit) => {
        const { sub, exp } = artifacts.decoded.payload;
        if (typeof exp !== 'number') throw new Error('Token has no expiry (exp)');
        if (typeof sub !== 'string' || !subjectPattern.test(sub)) {
          throw new Error('Token sub must be 1-64 characters of A-Z, a-z, 0-9, _ or -');
        }
        const credentials: UserCredentials = { userId: sub };
        return { isValid: true, credentials };
      },
    });
  },
};

/** Issues an HS256 token for local use (`npm run token`). */
export function issueToken(userId: string, secret: string, ttlSec = 12 * 60 * 60): string {
  if (!subjectPattern.test(userId)) throw new Error('user id must be 1-64 characters of A-Z, a-z, 0-9, _ or -');
  return Jwt.token.generate({ sub: userId }, { key: secret, algorithm: 'HS256' }, { ttlSec });
}

/**
 * Local development falls back to this secret when JWT_SECRET is unset (and says so in the
 * log). It is public by definition: never use it where tokens matter.
 */
export const developmentSecret = 'local-development-secret-not-for-production';

export const callerOf = (request: Request): string => (request.auth.credentials as unknown as UserCredentials).userId;
