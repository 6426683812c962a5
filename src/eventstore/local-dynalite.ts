import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';

/**
 * dynalite reads LevelDB through a stream whose `destroy` closes the underlying iterator by
 * calling `iterator.return()`, which abstract-level's iterators do not have (they have
 * `close()`). So no Query ever released its iterator, and each one kept a native LevelDB
 * iterator with its snapshot alive for the life of the process: `npm start` grew by hundreds of
 * megabytes under load (the JavaScript heap stayed flat). Giving the iterators the `return` the
 * stream expects closes them when the stream ends or is cut short.
 */
export function closeDynaliteIterators(): void {
  const fromDynalite = createRequire(createRequire(import.meta.url).resolve('dynalite'));
  const level = fromDynalite('abstract-level') as Record<string, { prototype: { return?: unknown; close(): Promise<void> } } | undefined>;
  for (const name of ['AbstractIterator', 'AbstractKeyIterator', 'AbstractValueIterator']) {
    const prototype = level[name]?.prototype;
    if (prototype && prototype.return === undefined) {
      prototype.return = function (this: { close(): Promise<void> }) {
        return this.close();
      };
    }
  }
}

export interface LocalDynamoDb {
  /** http://127.0.0.1:<port> */
  readonly endpoint: string;
  /**
   * Why the process must stop, when `error` is a fault of this store's files (a full disk, an
   * unwritable or corrupt folder); undefined for anything else. LevelDB refuses every write after
   * one failed until it is reopened, and dynalite throws the error out of the request it was
   * serving, which never gets an answer: the process would stay up with a log that takes nothing.
   * A restart reopens it, replaying its own write-ahead log; every write acknowledged before is
   * there.
   */
  fault(error: unknown): string | undefined;
  close(): Promise<void>;
}

const levelDbFaults = new Set(['LEVEL_IO_ERROR', 'LEVEL_CORRUPTION']);

/**
 * Runs dynalite, a DynamoDB-API server, inside this process on a free loopback port. With a
 * `path` the data lives in LevelDB files there and survives a restart; without, it is in memory.
 * Local mode and tests only: nothing in a Lambda bundle imports this file.
 */
export async function startLocalDynamoDb(options: { path?: string } = {}): Promise<LocalDynamoDb> {
  closeDynaliteIterators();
  const server = dynalite({
    ...(options.path === undefined ? {} : { path: options.path }),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  // Its clients keep connections alive; Node's 5 s keep-alive timeout would close an idle one just
  // as a busy process reuses it, and the call would fail with a reset. Its clients are in this
  // process too: connections stay open until they close them.
  server.keepAliveTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    fault: (error) => {
      const code = (error as { code?: unknown } | null)?.code;
      if (options.path === undefined || typeof code !== 'string' || !levelDbFaults.has(code)) return undefined;
      return `the event log in ${options.path} cannot be written (${(error as Error).message}): stopping. Free space or fix the folder, then start again; every acknowledged write is kept`;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections?.();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
