import type { AppendRequest, Commit, EventStore, KeyClaim, NewEvent, ReadOptions, ScanOptions } from './event-store.ts';

/** An event store and what closes the connections it opened. */
export interface OpenedEventStore {
  readonly store: EventStore;
  readonly close: () => void | Promise<void>;
}

/** An event store whose implementation is loaded by its first call. */
export interface LazyEventStore extends EventStore {
  /** Whether the first call has loaded the implementation yet. */
  readonly loaded: boolean;
  /** Closes what the implementation opened; nothing when it was never loaded. */
  close(): Promise<void>;
}

/**
 * An event store that loads its implementation on its first call, not at start. The deployed
 * services build the DynamoDB event store this way: the AWS SDK is most of what a cold start
 * would otherwise evaluate before the health route answers, and the readiness check makes no
 * DynamoDB call. A load that fails is tried again by the next call.
 */
export function lazyEventStore(open: () => Promise<OpenedEventStore>): LazyEventStore {
  let opening: Promise<OpenedEventStore> | undefined;
  let opened: OpenedEventStore | undefined;
  const store = async (): Promise<EventStore> => {
    opening ??= open().then(
      (result) => {
        opened = result;
        return result;
      },
      (error: unknown) => {
        opening = undefined;
        throw error;
      },
    );
    return (await opening).store;
  };
  return {
    get loaded() {
      return opened !== undefined;
    },
    append: async <E extends NewEvent>(request: AppendRequest<E>): Promise<Commit<E>> => (await store()).append(request),
    readStream: async (streamId: string, options?: ReadOptions) => (await store()).readStream(streamId, options),
    async *scan(options?: ScanOptions) {
      yield* (await store()).scan(options);
    },
    claimKey: async (claim: KeyClaim) => (await store()).claimKey(claim),
    ping: async () => (await store()).ping(),
    close: async () => {
      const current = opening;
      if (current === undefined) return;
      const result = await current.catch(() => undefined);
      await result?.close();
    },
  };
}

/**
 * The DynamoDB event log of a deployed service, with the SDK loaded on first use (a chunk of
 * its own in the bundle: `splitting` in scripts/build.ts).
 */
export function lazyDynamoDbEventStore(settings: { readonly tableName: string; readonly endpoint?: string }): LazyEventStore {
  return lazyEventStore(async () => {
    const { DynamoDbEventStore, createDynamoDbClient } = await import('./dynamodb-event-store.ts');
    const client = createDynamoDbClient(settings.endpoint === undefined ? {} : { endpoint: settings.endpoint });
    return { store: new DynamoDbEventStore({ client, tableName: settings.tableName }), close: () => client.destroy() };
  });
}
