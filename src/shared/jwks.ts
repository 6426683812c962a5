import { createLocalJWKSet, errors, importJWK } from 'jose';
import type { CryptoKey, FlattenedJWSInput, JSONWebKeySet, JWK, JWSHeaderParameters } from 'jose';

/**
 * The identity provider's signing keys, fetched from its JWKS URL and kept in memory
 * (docs/api.md, identity). The provider is never a start-up dependency: nothing is fetched until
 * a token needs a key (or `prefetch` asks, without anyone waiting), and every fetch is bounded by
 * a timeout.
 *
 * What `jose` gives: key selection by the token's `alg`/`kid` against each JWK's `kty`, `crv`,
 * `alg`, `use` and `key_ops` (`createLocalJWKSet`), so an RSA key only ever verifies RS256-512 or PS256-512, a
 * P-256 key only ES256, and so on. What this class adds around it, where `jose`'s remote set
 * falls short for a service:
 * - the last good keys keep serving when a refresh fails (an outage of the provider does not
 *   log everyone out), and an old set is refreshed in the background, never on a request's time;
 * - a token naming an unknown `kid` triggers a refetch (key rotation), at most once per
 *   `unknownKidCooldownMs`, so a flood of made-up kids costs one fetch, not one per token;
 * - a failed fetch backs off (1 s, doubling up to `maxBackoffMs`) instead of being retried by
 *   every request, and requests during the back-off learn at once that keys are unavailable;
 * - a bounded response size;
 * - every key is imported when the set arrives: one the platform cannot use (a point off its
 *   curve, a truncated modulus) is dropped and reported, so it can neither break the others nor
 *   turn a token that names it into anything but a 401.
 */
export interface JwksOptions {
  /** Abort a fetch after this long (connect, headers and body). */
  readonly timeoutMs?: number;
  /** Refresh (in the background) a set older than this. */
  readonly maxAgeMs?: number;
  /** Least time between two fetches caused by unknown kids. */
  readonly unknownKidCooldownMs?: number;
  /** Longest wait between attempts while the provider keeps failing. */
  readonly maxBackoffMs?: number;
  /** Largest JWKS document accepted. */
  readonly maxBytes?: number;
  /** Reports fetch failures and recoveries (the server log). */
  readonly onEvent?: (event: JwksEvent) => void;
  /** The clock; tests move it. */
  readonly now?: () => number;
}

export type JwksEvent =
  | { readonly kind: 'fetched'; readonly keys: number; readonly dropped: readonly string[] }
  | { readonly kind: 'failed'; readonly error: string; readonly retryInMs: number; readonly servingCachedKeys: boolean };

/** Keys cannot be had right now (none cached and the provider unreachable): answer 503. */
export class KeysUnavailableError extends Error {
  override readonly name = 'KeysUnavailableError';
  readonly retryAfterSeconds: number;

  constructor(message: string, retryAfterSeconds: number) {
    super(message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

type LocalSet = ReturnType<typeof createLocalJWKSet>;

export class JwksKeys {
  readonly #url: string;
  readonly #timeoutMs: number;
  readonly #maxAgeMs: number;
  readonly #cooldownMs: number;
  readonly #maxBackoffMs: number;
  readonly #maxBytes: number;
  readonly #onEvent: (event: JwksEvent) => void;
  readonly #now: () => number;

  #keys: LocalSet | undefined;
  #fetchedAt = Number.NEGATIVE_INFINITY;
  #attemptedAt = Number.NEGATIVE_INFINITY;
  #failures = 0;
  #retryAt = Number.NEGATIVE_INFINITY;
  #inFlight: Promise<boolean> | undefined;
  /** Counts the sets fetched: names the set a verification uses. */
  #generation = 0;

  constructor(url: string, options: JwksOptions = {}) {
    this.#url = new URL(url).href;
    this.#timeoutMs = options.timeoutMs ?? 3_000;
    this.#maxAgeMs = options.maxAgeMs ?? 10 * 60_000;
    this.#cooldownMs = options.unknownKidCooldownMs ?? 5_000;
    this.#maxBackoffMs = options.maxBackoffMs ?? 10_000;
    this.#maxBytes = options.maxBytes ?? 512 * 1024;
    this.#onEvent = options.onEvent ?? (() => undefined);
    this.#now = options.now ?? Date.now;
  }

  /** Starts a fetch nobody waits for (at start-up), unless keys are cached or a fetch is under way. */
  prefetch(): void {
    if (this.#keys === undefined && this.#inFlight === undefined && this.#now() >= this.#retryAt) void this.#refresh();
  }

  /**
   * Which key set a verification would use right now without fetching (a number that changes
   * with every set fetched), or undefined when it would fetch first (no keys yet, or a set old
   * enough to be refreshed). What was verified under one set holds until this changes.
   */
  currentSet(): number | undefined {
    if (this.#keys === undefined || this.#now() - this.#fetchedAt >= this.#maxAgeMs) return undefined;
    return this.#generation;
  }

  /** The key that verifies a token with this header; the resolver `jwtVerify` calls. */
  readonly resolve = async (header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<CryptoKey> => {
    const now = this.#now();
    if (this.#keys === undefined) {
      if (now < this.#retryAt) throw this.#unavailable(now);
      if (!(await this.#refresh()) || this.#keys === undefined) throw this.#unavailable(this.#now());
    } else if (now - this.#fetchedAt >= this.#maxAgeMs && now >= this.#retryAt && this.#inFlight === undefined) {
      // Old but still good: refresh in the background and verify with what we have.
      void this.#refresh();
    }
    try {
      return await this.#keys(header, token);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
      // An unknown kid: perhaps a key published since the last fetch (rotation). The last fetch
      // failed: try again once its back-off is over. It succeeded: refetch once the cooldown is
      // over; until then the kid is simply unknown (401), however many tokens name it.
      const at = this.#now();
      if (this.#inFlight === undefined) {
        if (this.#failures > 0 && at < this.#retryAt) throw this.#unavailable(at);
        if (this.#failures === 0 && at - this.#attemptedAt < this.#cooldownMs) throw error;
      }
      if (!(await this.#refresh())) throw this.#unavailable(this.#now());
      return this.#keys(header, token);
    }
  };

  #unavailable(now: number): KeysUnavailableError {
    const seconds = Math.max(1, Math.ceil((this.#retryAt - now) / 1000));
    return new KeysUnavailableError('the identity provider cannot be reached to verify tokens right now', seconds);
  }

  /** One fetch at a time; true when it brought a usable set. */
  #refresh(): Promise<boolean> {
    this.#inFlight ??= this.#fetch().finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  async #fetch(): Promise<boolean> {
    this.#attemptedAt = this.#now();
    try {
      const { usable, dropped } = await importable(await this.#download());
      this.#keys = createLocalJWKSet({ keys: usable });
      this.#generation++;
      this.#fetchedAt = this.#now();
      this.#failures = 0;
      this.#retryAt = Number.NEGATIVE_INFINITY;
      this.#onEvent({ kind: 'fetched', keys: usable.length, dropped });
      return true;
    } catch (error) {
      this.#failures++;
      const retryInMs = Math.min(this.#maxBackoffMs, 1_000 * 2 ** (this.#failures - 1));
      this.#retryAt = this.#now() + retryInMs;
      this.#onEvent({ kind: 'failed', error: describe(error), retryInMs, servingCachedKeys: this.#keys !== undefined });
      return false;
    }
  }

  async #download(): Promise<JSONWebKeySet> {
    const signal = AbortSignal.timeout(this.#timeoutMs);
    const response = await fetch(this.#url, {
      method: 'GET',
      redirect: 'manual',
      headers: { accept: 'application/jwk-set+json, application/json' },
      signal,
    });
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => undefined);
      throw new Error(`the JWKS URL answered HTTP ${response.status}`);
    }
    const declared = Number(response.headers.get('content-length') ?? 0);
    if (declared > this.#maxBytes) {
      await response.body?.cancel().catch(() => undefined);
      throw new Error(`the JWKS is larger than ${this.#maxBytes} bytes`);
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of response.body ?? []) {
      size += chunk.byteLength;
      if (size > this.#maxBytes) throw new Error(`the JWKS is larger than ${this.#maxBytes} bytes`);
      chunks.push(chunk);
    }
    let document: unknown;
    try {
      document = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      throw new Error('the JWKS is not JSON');
    }
    const keys = (document as { keys?: unknown } | null)?.keys;
    if (!Array.isArray(keys) || !keys.every((key) => typeof key === 'object' && key !== null && !Array.isArray(key))) {
      throw new Error('the JWKS has no "keys" list');
    }
    // A set without a single public signing key is a broken publication, not a revocation of
    // every key: keep the last good set rather than refuse everyone.
    if (!keys.some(isSigningKey)) throw new Error('the JWKS holds no public signing key');
    return document as JSONWebKeySet;
  }
}

/** The algorithm each key type and curve verifies with, to try importing it. */
function probeAlgorithm(key: JWK): string | undefined {
  if (key.kty === 'RSA') return 'RS256';
  if (key.kty === 'EC') return { 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512' }[key.crv ?? ''];
  if (key.kty === 'OKP' && key.crv === 'Ed25519') return 'EdDSA';
  return undefined;
}

/** The set's public signing keys that the platform can import; the others, named for the log. */
async function importable(set: JSONWebKeySet): Promise<{ usable: JWK[]; dropped: string[] }> {
  const usable: JWK[] = [];
  const dropped: string[] = [];
  for (const key of set.keys) {
    if (!isSigningKey(key as Record<string, unknown>)) continue;
    const algorithm = probeAlgorithm(key);
    try {
      if (algorithm === undefined) throw new Error('unsupported key type');
      await importJWK(key, key.alg ?? algorithm);
      usable.push(key);
    } catch {
      dropped.push(typeof key.kid === 'string' ? key.kid.slice(0, 64) : `${String(key.kty)} key without kid`);
    }
  }
  if (usable.length === 0) throw new Error('the JWKS holds no public signing key this platform can use');
  return { usable, dropped };
}

function isSigningKey(key: Record<string, unknown>): boolean {
  return ['RSA', 'EC', 'OKP'].includes(key.kty as string) && (key.use === undefined || key.use === 'sig') && key.d === undefined;
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    if (error.name === 'TimeoutError' || error.name === 'AbortError') return 'the JWKS URL did not answer in time';
    const cause = (error as { cause?: { code?: string } }).cause;
    return cause?.code ? `${error.message} (${cause.code})` : error.message;
  }
  return String(error);
}
