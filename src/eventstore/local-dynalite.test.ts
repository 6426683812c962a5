import { createRequire } from 'node:module';
import t from 'tap';
import { freshEventStore, closeTestDynamoDb } from '../testing/stores.ts';

t.teardown(closeTestDynamoDb);

t.test('every Query releases its LevelDB iterator (dynalite would otherwise keep each one for good)', async (t) => {
  const fromDynalite = createRequire(createRequire(import.meta.url).resolve('dynalite'));
  const { AbstractValueIterator } = fromDynalite('abstract-level') as { AbstractValueIterator: { prototype: { close(): Promise<void> } } };
  const { store } = await freshEventStore();
  const original = AbstractValueIterator.prototype.close;
  let closed = 0;
  AbstractValueIterator.prototype.close = function (this: unknown) {
    closed++;
    return original.call(this);
  };
  t.teardown(() => {
    AbstractValueIterator.prototype.close = original;
  });
  const reads = 40;
  await store.append({ streamId: 'GroupChat-1', expectedVersion: 0, commandId: 'c1', actorId: 'a', occurredAt: new Date().toISOString(), events: [{ type: 'GroupChatCreated', data: { name: 'n', ownerId: 'a' } }] });
  for (let i = 0; i < reads; i++) {
    await store.readStream(i % 2 === 0 ? 'GroupChat-1' : `GroupChat-absent-${i}`);
  }
  t.ok(closed >= reads, `iterators closed: ${closed} for ${reads} reads`);
});
