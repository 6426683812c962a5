import type { CompiledQuery, DatabaseConnection, Dialect, Driver, QueryResult, TransactionSettings } from 'kysely';
import { ProjectionUnavailableError } from './projection-errors.ts';

/**
 * SQLSTATE classes that mean the server is not there for us: 08 connection exception, 53
 * insufficient resources, 57P01–57P03 (shut down, crashed, not accepting connections yet).
 */
const unavailableStates = /^(08|53|57P0[1-3])/;

/**
 * What a failure that left the driver means, decided where it happens and by type alone:
 * - an error the server reported (it carries `severity` and a SQLSTATE `code`, from `pg` and
 *   PGlite alike) is the database refusing this statement, unless its SQLSTATE says the server
 *   is going away;
 * - a programming error (TypeError, RangeError, …) stays what it is;
 * - anything else the driver raised is the connection failing under the query (lost, timed out,
 *   closed, never opened: `pg` and PGlite say so only in words) and becomes
 *   `ProjectionUnavailableError`, which the routes answer with 503.
 * Errors from anywhere else (a fold, a route) never pass through here, so no defect of ours can
 * turn into a 503 because of how its message reads.
 */
export function classifyDriverError(error: unknown): unknown {
  if (error instanceof ProjectionUnavailableError || !(error instanceof Error)) return error;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && unavailableStates.test(code)) return new ProjectionUnavailableError('the projection database is unavailable', { cause: error });
  if ('severity' in error) return error;
  if (error instanceof TypeError || error instanceof RangeError || error instanceof SyntaxError || error instanceof ReferenceError) return error;
  return new ProjectionUnavailableError('the projection database connection failed', { cause: error });
}

/**
 * A fault after which an embedded database must not be used: its folder is full (53100), or it
 * reported a PANIC. PGlite has no server process to restart, and after either it was seen to fail
 * every statement, then to refuse to open its folder at all.
 */
export function isEmbeddedFault(error: unknown): error is Error {
  if (!(error instanceof Error)) return false;
  const { code, severity } = error as { code?: unknown; severity?: unknown };
  return code === '53100' || severity === 'PANIC';
}

type FaultListener = ((error: Error) => void) | undefined;

async function classified<T>(work: () => Promise<T>, onFault?: FaultListener): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (onFault && isEmbeddedFault(error)) onFault(error);
    throw classifyDriverError(error);
  }
}

class ClassifiedConnection implements DatabaseConnection {
  readonly inner: DatabaseConnection;
  readonly #onFault: FaultListener;

  constructor(inner: DatabaseConnection, onFault: FaultListener) {
    this.inner = inner;
    this.#onFault = onFault;
  }

  executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    return classified(() => this.inner.executeQuery<R>(query), this.#onFault);
  }

  streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.inner.streamQuery<R>(query, chunkSize);
  }
}

/**
 * A driver around another that classifies its failures (`classifyDriverError`) and, once closed,
 * answers every query with `ProjectionUnavailableError` instead of a generic error.
 */
export class ClassifiedDriver implements Driver {
  readonly #inner: Driver;
  readonly #connections = new WeakMap<DatabaseConnection, ClassifiedConnection>();
  readonly #onFault: FaultListener;
  #closed = false;

  constructor(inner: Driver, onFault?: (error: Error) => void) {
    this.#inner = inner;
    this.#onFault = onFault;
  }

  init(): Promise<void> {
    return classified(async () => {
      this.#refuseWhenClosed();
      await this.#inner.init();
    });
  }

  acquireConnection(): Promise<DatabaseConnection> {
    return classified(async () => {
      this.#refuseWhenClosed();
      const inner = await this.#inner.acquireConnection();
      let connection = this.#connections.get(inner);
      if (!connection) this.#connections.set(inner, (connection = new ClassifiedConnection(inner, this.#onFault)));
      return connection;
    });
  }

  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return classified(() => this.#inner.beginTransaction(innerOf(connection), settings), this.#onFault);
  }

  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return classified(() => this.#inner.commitTransaction(innerOf(connection)), this.#onFault);
  }

  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return classified(() => this.#inner.rollbackTransaction(innerOf(connection)), this.#onFault);
  }

  releaseConnection(connection: DatabaseConnection): Promise<void> {
    return this.#inner.releaseConnection(innerOf(connection));
  }

  async destroy(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#inner.destroy();
  }

  #refuseWhenClosed(): void {
    if (this.#closed) throw new ProjectionUnavailableError('the projection database is closed');
  }
}

const innerOf = (connection: DatabaseConnection): DatabaseConnection => (connection instanceof ClassifiedConnection ? connection.inner : connection);

/** `dialect` with its driver wrapped in `driver` (made from it by the caller, so it can close it). */
export function classifiedDialect(dialect: Dialect, onFault?: (error: Error) => void): { dialect: Dialect; driver: ClassifiedDriver } {
  const driver = new ClassifiedDriver(dialect.createDriver(), onFault);
  return {
    driver,
    dialect: {
      createAdapter: () => dialect.createAdapter(),
      createDriver: () => driver,
      createQueryCompiler: () => dialect.createQueryCompiler(),
      createIntrospector: (db) => dialect.createIntrospector(db),
    },
  };
}
