import { createHash, createHmac } from 'node:crypto';
import Boom from '@hapi/boom';
import type { Plugin, Request } from '@hapi/hapi';
import Validate from '@hapi/validate';
import { httpUrl } from './config.ts';
import { errors, jwtVerify } from 'jose';
import { LRUCache } from 'lru-cache';
import type { CryptoKey, JWTPayload, JWTVerifyOptions } from 'jose';
import { unavailable } from './http-errors.ts';
import { JwksKeys, KeysUnavailableError } from './jwks.ts';
import type { JwksOptions } from './jwks.ts';

/** The name of the auth strategy every /command/v1 and /query/v1 route uses. */
export const userAuth = 'user';

export interface AuthOptions {
  /** HS256 shared secret (local and development). */
  readonly secret?: string;
  /** JWKS endpoint of the identity provider (AWS); takes the place of `secret`, with issuer and audience. */
  readonly jwksUrl?: string;
  readonly issuer?: string;
  readonly audience?: string;
  /** Fetch timeout, refresh and rate limits of the JWKS (defaults suit production). */
  readonly jwks?: JwksOptions;
  /**
   * The clock a token's `exp` and `nbf` are checked against, in milliseconds (`Date.now`): a
   * test moves it instead of waiting for time to pass. The JWKS refresh uses it too, unless
   * `jwks.now` says otherwise.
   */
  readonly now?: () => number;
  /**
   * The longest a token may live, in seconds (JWT_MAX_LIFETIME; 24 h when unset): `exp − iat`,
   * or `exp − now` for a token without `iat`. A longer one, or an `iat` in the future, is 401.
   */
  readonly maxLifetimeSeconds?: number;
}

/** JWT_MAX_LIFETIME when unset: a day. */
export const defaultMaxLifetimeSeconds = 24 * 60 * 60;

/** What a route sees as `request.auth.credentials`: the caller, from the token's `sub`. */
export interface UserCredentials {
  readonly userId: string;
}

const optionsSchema = Validate.object<AuthOptions>({
  secret: Validate.string().min(16),
  jwksUrl: httpUrl(),
  issuer: Validate.string(),
  audience: Validate.string(),
  jwks: Validate.object().unknown(true),
  now: Validate.func(),
  maxLifetimeSeconds: Validate.number().integer().min(60),
})
  .xor('secret', 'jwksUrl')
  .with('jwksUrl', ['issuer', 'audience'])
  .without('secret', 'jwks');

const subjectPattern = /^[A-Za-z0-9_-]{1,64}$/;
const tokenPattern = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const maxTokenLength = 8 * 1024;

/**
 * Every algorithm a key in a JWKS can hold: RSA keys (RS256-512, PS256-512), EC keys by curve (P-256 →
 * ES256, P-384 → ES384, P-521 → ES512) and Ed25519. Which one verifies a given token is decided
 * by the key the token names: `jose` pairs a JWK only with the algorithms of its type and curve
 * (and its own `alg`, when it declares one). Symmetric algorithms and `none` are never accepted
 * from a JWKS, so a token "signed" with a published public key as an HMAC secret fails.
 */
export const jwksAlgorithms = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];

/** The 401 reasons a client may see; nothing about keys or the provider beyond that. */
function reasonOf(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'Token expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'exp') return 'Token has no expiry (exp)';
    if (error.claim === 'sub') return 'Token sub must be 1-64 characters of A-Z, a-z, 0-9, _ or -';
    if (error.claim === 'iss') return 'Token issuer is not accepted';
    if (error.claim === 'aud') return 'Token audience is not accepted';
    if (error.claim === 'iat') return error.message;
    return `Token claim ${error.claim} is not valid`;
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'Invalid token signature';
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) return 'Token algorithm is not accepted';
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) return 'Token signing key is not known';
  return 'Invalid token';
}

export type Verify = (token: string) => Promise<JWTPayload>;

/** Seconds of clock skew allowed on `exp` (and `nbf`), as `jose` applies them. */
const clockTolerance = 30;

/**
 * The token's lifetime within the bound, and its `iat` not in the future (beyond the clock
 * tolerance): `jose` checks `exp` and `nbf`, not how far ahead `exp` lies.
 */
function checkLifetime(payload: JWTPayload, nowMs: number, maxLifetimeSeconds: number): JWTPayload {
  const now = Math.floor(nowMs / 1000);
  const { iat, exp } = payload as { iat?: unknown; exp: number };
  if (iat !== undefined) {
    if (typeof iat !== 'number' || !Number.isFinite(iat)) throw new errors.JWTClaimValidationFailed('Token iat must be a number', payload, 'iat', 'invalid');
    if (iat > now + clockTolerance) throw new errors.JWTClaimValidationFailed('Token iat is in the future', payload, 'iat', 'check_failed');
  }
  const lifetime = exp - (typeof iat === 'number' ? iat : now);
  if (lifetime > maxLifetimeSeconds + (iat === undefined ? clockTolerance : 0)) {
    throw new errors.JWTClaimValidationFailed(`Token lives longer than ${maxLifetimeSeconds} s (exp - iat)`, payload, 'iat', 'check_failed');
  }
  return payload;
}

/** A verifier for one configuration: HS256 with a shared secret, or a provider's JWKS. */
function verifier(options: AuthOptions, log: (tags: string[], data: object) => void): { verify: Verify; keys?: JwksKeys } {
  const now = options.now ?? Date.now;
  const maxLifetime = options.maxLifetimeSeconds ?? defaultMaxLifetimeSeconds;
  // `jose` reads the clock itself unless told the time; only a test's clock needs telling.
  const atNow = (verifyOptions: JWTVerifyOptions): JWTVerifyOptions => (options.now === undefined ? verifyOptions : { ...verifyOptions, currentDate: new Date(now()) });
  const common: JWTVerifyOptions = { clockTolerance, requiredClaims: ['exp', 'sub'] };
  if (options.secret !== undefined) {
    // Imported once: `jose` given the raw bytes imports a key for every token.
    let key: Promise<CryptoKey> | undefined;
    const secret = new TextEncoder().encode(options.secret);
    const hs256 = { ...common, algorithms: ['HS256'] };
    const verify: Verify = async (token) => {
      key ??= crypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
      return checkLifetime((await jwtVerify(token, await key, atNow(hs256))).payload, now(), maxLifetime);
    };
    return { verify: rememberVerified(verify, () => 0, now) };
  }
  const keys = new JwksKeys(options.jwksUrl!, {
    onEvent: (event) =>
      event.kind === 'failed'
        ? log(['warn', 'auth', 'jwks'], { msg: `JWKS fetch failed: ${event.error}`, retryInMs: event.retryInMs, servingCachedKeys: event.servingCachedKeys })
        : log([event.dropped.length > 0 ? 'warn' : 'info', 'auth', 'jwks'], {
            msg: event.dropped.length > 0 ? 'JWKS fetched; keys this platform cannot use were dropped' : 'JWKS fetched',
            keys: event.keys,
            ...(event.dropped.length > 0 ? { dropped: event.dropped } : {}),
          }),
    now,
    ...options.jwks,
  });
  const verifyOptions: JWTVerifyOptions = { ...common, algorithms: jwksAlgorithms, issuer: options.issuer!, audience: options.audience! };
  const verify: Verify = async (token) => checkLifetime(await verifyWithKeys(token), now(), maxLifetime);
  const verifyWithKeys = async (token: string) => {
    try {
      return (await jwtVerify(token, keys.resolve, atNow(verifyOptions))).payload;
    } catch (error) {
      // A token without `kid` and several keys that fit its algorithm: try each of them.
      if (!(error instanceof errors.JWKSMultipleMatchingKeys)) throw error;
      for await (const key of error as AsyncIterable<CryptoKey>) {
        try {
          return (await jwtVerify(token, key, atNow(verifyOptions))).payload;
        } catch (inner) {
          if (!(inner instanceof errors.JWSSignatureVerificationFailed)) throw inner;
        }
      }
      throw new errors.JWSSignatureVerificationFailed();
    }
  };
  return { verify: rememberVerified(verify, () => keys.currentSet(), now), keys };
}

/** How many verified tokens are remembered (by digest), most recently used first. */
const rememberedTokens = 1_000;

/**
 * `verify`, remembering the tokens it accepted: a client sends the same token with each request
 * for as long as it lives, and checking its signature again each time (WebCrypto, a round trip
 * through libuv's thread pool) is most of what authentication costs a request. The answer for
 * the same token can only change with the clock (its `exp`, checked again on every use, as `jose`
 * checks it) or with the keys: an entry holds for the key set it was verified under (`keySet`,
 * undefined when a verification would fetch keys first, when nothing is remembered or used).
 * Refusals are never remembered. Entries are keyed by the token's SHA-256, so no bearer token
 * outlives its request in memory.
 */
export function rememberVerified(verify: Verify, keySet: () => number | undefined, now: () => number = Date.now): Verify {
  const verified = new LRUCache<string, { readonly payload: JWTPayload; readonly exp: number; readonly keySet: number }>({ max: rememberedTokens });
  return async (token) => {
    const set = keySet();
    if (set === undefined) return verify(token);
    const digest = createHash('sha256').update(token).digest('base64url');
    const known = verified.get(digest);
    if (known !== undefined && known.keySet === set && known.exp > Math.floor(now() / 1000) - clockTolerance) return known.payload;
    const payload = await verify(token);
    // `requiredClaims` made `jose` check that `exp` is there and a number.
    verified.set(digest, { payload, exp: payload.exp!, keySet: set });
    return payload;
  };
}

/**
 * Bearer-JWT authentication shared by both modules: registers the `user` strategy. The `sub`
 * claim is the caller's user id; a token must expire (`exp`) and be signed with an accepted
 * algorithm (never `none`). Verification is `jose`'s; the scheme around it decides the answer:
 * a token that is missing, malformed, forged, expired, for another issuer or audience, or signed
 * by an unknown key is 401; a token that cannot be checked right now (no keys yet and the
 * identity provider unreachable) is 503 with Retry-After. The provider is never contacted before
 * the server listens: the keys are fetched on first use (and prefetched, unawaited, at start).
 *
 * @example
 * await server.register({ plugin: authPlugin, options: { secret: process.env.JWT_SECRET } });
 * server.route({ method: 'GET', path: '/me', options: { auth: userAuth }, handler: (r) => r.auth.credentials });
 */
export const authPlugin: Plugin<AuthOptions> = {
  name: 'auth',
  register(server, rawOptions) {
    const options = Validate.attempt(rawOptions, optionsSchema, 'auth plugin options:');
    const { verify, keys } = verifier(options, (tags, data) => server.log(tags, data));
    if (keys) server.ext('onPostStart', () => keys.prefetch());
    server.auth.scheme('bearer-jwt', () => ({
      authenticate: async (request, h) => {
        const header = request.headers.authorization;
        const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
        if (!match) throw Boom.unauthorized(null, 'Bearer');
        const token = match[1]!;
        if (token.length > maxTokenLength || !tokenPattern.test(token)) throw Boom.unauthorized('Invalid token', 'Bearer');
        let payload: JWTPayload;
        try {
          payload = await verify(token);
        } catch (error) {
          if (error instanceof KeysUnavailableError) {
            request.log(['warn', 'auth'], error.message);
            throw unavailable('cannot verify the token right now', { retryAfterSeconds: error.retryAfterSeconds });
          }
          // WebCrypto refusing a key or a signature (a DOMException) is a token we cannot accept.
          if (!(error instanceof errors.JOSEError) && !(error instanceof TypeError) && !(error instanceof DOMException)) throw error;
          throw Boom.unauthorized(reasonOf(error), 'Bearer');
        }
        const { sub } = payload;
        if (typeof sub !== 'string' || !subjectPattern.test(sub)) {
          throw Boom.unauthorized('Token sub must be 1-64 characters of A-Z, a-z, 0-9, _ or -', 'Bearer');
        }
        const credentials: UserCredentials = { userId: sub };
        return h.authenticated({ credentials: credentials as unknown as Record<string, unknown> });
      },
    }));
    server.auth.strategy(userAuth, 'bearer-jwt');
  },
};

/**
 * Issues an HS256 token for local use (`npm run token`, tests): the compact form of RFC 7515
 * with an HMAC-SHA256 over header and claims. Verification is always `jose`'s.
 */
export function issueToken(userId: string, secret: string, ttlSec = 12 * 60 * 60): string {
  if (!subjectPattern.test(userId)) throw new Error('user id must be 1-64 characters of A-Z, a-z, 0-9, _ or -');
  const now = Math.floor(Date.now() / 1000);
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const signingInput = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode({ sub: userId, iat: now, exp: now + ttlSec })}`;
  return `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`;
}

/**
 * Local development falls back to this secret when JWT_SECRET is unset (and says so in the
 * log). It is public by definition: never use it where tokens matter.
 */
export const developmentSecret = 'local-development-secret-not-for-production';

export const callerOf = (request: Request): string => (request.auth.credentials as unknown as UserCredentials).userId;

export type { JwksOptions } from './jwks.ts';
