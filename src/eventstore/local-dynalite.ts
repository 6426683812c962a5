import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';

export interface LocalDynamoDb {
  /** http://127.0.0.1:<port> */
  readonly endpoint: string;
  close(): Promise<void>;
}

/**
 * Runs dynalite, a DynamoDB-API server, inside this process on a free loopback port. With a
 * `path` the data lives in LevelDB files there and survives a restart; without, it is in memory.
 * Local mode and tests only: nothing in a Lambda bundle imports this file.
 */
export async function startLocalDynamoDb(options: { path?: string } = {}): Promise<LocalDynamoDb> {
  const server = dynalite({
    ...(options.path === undefined ? {} : { path: options.path }),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections?.();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
