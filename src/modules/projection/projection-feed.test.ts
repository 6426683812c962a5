import t from 'tap';
import type { Commit } from '../../eventstore/index.ts';
import { commandServer } from '../../testing/command-server.ts';
import { eachDatabase } from '../../testing/databases.ts';
import { eventually, untilHolds } from '../../testing/eventually.ts';
import { closeTestDynamoDb, freshEventStore } from '../../testing/stores.ts';
import { ProjectionFeed } from './projection-feed.ts';
import { Projector } from './projector.ts';
import type { Applied } from './projector.ts';

t.teardown(closeTestDynamoDb);

/** The real projector, holding each batch until the test lets it through, and telling the batch sizes. */
class GatedProjector extends Projector {
  readonly batches: number[] = [];
  #open: (() => void)[] = [];
  held = 0;

  override async applyBatch(commits: readonly Commit[]): Promise<Applied[]> {
    this.batches.push(commits.length);
    this.held++;
    await new Promise<void>((resolve) => this.#open.push(resolve));
    this.held--;
    return super.applyBatch(commits);
  }

  release(): void {
    for (const open of this.#open.splice(0)) open();
  }
}

/** Waits on the code under test, not on a clock. */
const until = (done: () => boolean): Promise<void> => untilHolds(`${done}`, done);

eachDatabase(t, 'local hand-off', async (t, open) => {
  const { store } = await freshEventStore();
  const commits: Commit[] = [];
  const writer = (await commandServer(store, { onAppended: (commit) => void commits.push(commit) })).as('alice');
  const { id } = await writer.createChat('Busy');
  for (let n = 0; n < 9; n++) await writer.post(id, `message ${n}`);
  await until(() => commits.length === 10);

  t.test('what arrives while a batch is applied goes into the next one, all of it', async (t) => {
    const database = await open();
    const projector = new GatedProjector(database.db, store);
    const feed = new ProjectionFeed(projector, { retryMs: 50 });
    t.teardown(() => feed.stop());
    const first = feed.deliver(commits[0]!);
    t.type(first, Promise, 'a hand-off returns a promise to wait for');
    await until(() => projector.held === 1);
    const rest = commits.slice(1).map((commit) => feed.deliver(commit));
    t.equal(feed.queued, 9);
    projector.release();
    await first;
    await until(() => projector.batches.length === 2);
    t.same(projector.batches, [1, 9], 'two transactions for ten commits');
    projector.release();
    await Promise.all(rest);
    t.equal(feed.queued, 0);
    t.equal((await database.db.selectFrom('messages').selectAll().execute()).length, 9);
    t.equal(await projector.position(`GroupChat-${id}`), 1);
  });

  t.test('a hand-off resolves once its commit is applied: what a command answered is in the read model', async (t) => {
    const database = await open();
    const projector = new GatedProjector(database.db, store);
    const feed = new ProjectionFeed(projector, { retryMs: 50, maxWaitMs: 60_000 });
    t.teardown(() => feed.stop());
    let settled = false;
    const handed = feed.deliver(commits[0]!);
    void handed!.then(() => (settled = true));
    await until(() => projector.held === 1);
    await new Promise((resolve) => setImmediate(resolve));
    t.equal(settled, false, 'the writer waits while its batch is being applied');
    projector.release();
    await handed;
    t.equal(await projector.position(`GroupChat-${id}`), 1, 'and once it resolves, the commit is in the projection');
    t.match(await database.db.selectFrom('group_chats').selectAll().execute(), [{ group_chat_id: id }]);
  });

  t.test('a stalled projection holds a writer only maxWaitMs; past maxQueued the commit leaves the queue and its stream is caught up later', async (t) => {
    const database = await open();
    const projector = new GatedProjector(database.db, store);
    const feed = new ProjectionFeed(projector, { retryMs: 20, maxQueued: 1, maxBatch: 1, maxWaitMs: 5 });
    t.teardown(() => feed.stop());
    void feed.deliver(commits[0]!);
    await until(() => projector.held === 1);
    const second = feed.deliver(commits[1]!);
    const third = feed.deliver(commits[2]!);
    t.equal(feed.queued, 2, 'two queued behind the stalled batch: one more than the bound');
    await Promise.all([second, third]);
    t.equal(projector.held, 1, 'both writers were let go while the batch is still stalled');
    t.equal(feed.queued, 1, 'the commit past the bound left the queue: it stays bounded');
    t.equal(feed.pending, 1, 'its stream is noted for a catch-up from the log');
    const projected = async () => (await database.db.selectFrom('messages').selectAll().execute()).length;
    // The stalled batch, the queued commit and the stream's catch-up from the log each pass the gate.
    await eventually(
      'both messages projected',
      async () => {
        projector.release();
        return projected();
      },
      (count) => count >= 2,
    );
    t.equal(await projected(), 2, 'nothing lost: both messages are projected');
  });

  t.test('a writer let go by maxWaitMs leaves its commit queued while under the bound: it is applied once the projection moves', async (t) => {
    const database = await open();
    const projector = new GatedProjector(database.db, store);
    const feed = new ProjectionFeed(projector, { retryMs: 60_000, maxWaitMs: 5 });
    t.teardown(() => feed.stop());
    void feed.deliver(commits[0]!);
    await until(() => projector.held === 1);
    await feed.deliver(commits[1]!);
    t.equal(feed.queued, 1, 'still queued after the writer was let go');
    t.equal(feed.pending, 0, 'no catch-up needed');
    projector.release();
    await until(() => projector.batches.length === 2 && projector.held === 1);
    projector.release();
    await until(() => feed.queued === 0 && projector.held === 0);
    await feed.stop();
    t.same(projector.batches, [1, 1]);
    t.equal((await database.db.selectFrom('messages').selectAll().execute()).length, 1, 'applied by the queue, not by a retry');
  });

  t.test('a commit that cannot be applied is caught up from the log later; the others apply now', async (t) => {
    const database = await open();
    const projector = new Projector(database.db, store);
    const feed = new ProjectionFeed(projector, { retryMs: 20 });
    t.teardown(() => feed.stop());
    const garbled: Commit = { ...commits[1]!, events: [{ type: 'MessagePosted', data: { groupChatId: 'not-a-uuid', authorId: 'alice', text: 'x' } }] };
    const healed = new Promise<void>((resolve) => projector.onPosition((streamId, version) => streamId === garbled.streamId && version === 1 && resolve()));
    feed.deliver(commits[0]!);
    feed.deliver(garbled);
    feed.deliver(commits[2]!);
    await healed;
    t.equal(feed.pending, 0);
    t.equal((await database.db.selectFrom('messages').selectAll().execute()).length, 2, 'the garbled delivery was replaced by the log’s own commit');
  });
});
