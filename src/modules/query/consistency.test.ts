import { randomUUID } from 'node:crypto';
import Boom from '@hapi/boom';
import t from 'tap';
import { groupChatStream, messageStream } from '../../contracts/streams.ts';
import { EventStoreUnavailableError } from '../../eventstore/index.ts';
import type { EventStore, ReadOptions } from '../../eventstore/index.ts';
import { commandServer } from '../../testing/command-server.ts';
import { eachDatabase, recordingStatements } from '../../testing/databases.ts';
import { untilHolds } from '../../testing/eventually.ts';
import { closeTestDynamoDb, freshEventStore, wrapStore } from '../../testing/stores.ts';
import { ReadYourWrites } from './consistency.ts';
import { Projector } from '../projection/index.ts';

t.teardown(closeTestDynamoDb);

/** A log that counts reads per stream and can hold the next read until released. */
function observedLog(store: EventStore) {
  const reads: string[] = [];
  let gate: Promise<void> | undefined;
  let open: () => void = () => undefined;
  const log = wrapStore(store, {
    readStream: async (streamId: string, options?: ReadOptions) => {
      reads.push(streamId);
      await gate;
      return store.readStream(streamId, options);
    },
  });
  return {
    log,
    reads,
    readsOf: (streamId: string) => reads.filter((id) => id === streamId).length,
    hold() {
      gate = new Promise((resolve) => (open = resolve));
    },
    release() {
      gate = undefined;
      open();
    },
  };
}

/** Waits on the code under test, not on a clock. */
const until = (done: () => boolean): Promise<void> => untilHolds(`${done}`, done);

async function renameTimes(store: EventStore, streamId: string, from: number, to: number) {
  const commits = [];
  for (let version = from; version < to; version++) {
    commits.push(
      await store.append({
        streamId,
        expectedVersion: version,
        commandId: randomUUID(),
        actorId: 'alice',
        occurredAt: new Date().toISOString(),
        events: [{ type: 'GroupChatRenamed', data: { name: `name ${version}` } }],
      }),
    );
  }
  return commits;
}

eachDatabase(t, 'read-your-writes', async (t, open) => {
  const { store } = await freshEventStore();
  const database = await open();
  const alice = (await commandServer(store)).as('alice');

  const setup = (options: { timeoutMs?: number; maxWaiters?: number; maxWaitersPerCaller?: number } = {}) => {
    const observed = observedLog(store);
    const projector = new Projector(database.db, observed.log);
    const readYourWrites = new ReadYourWrites(projector, database.db, {
      timeoutMs: options.timeoutMs ?? 60_000,
      maxWaiters: options.maxWaiters ?? 100,
      maxWaitersPerCaller: options.maxWaitersPerCaller ?? 100,
    });
    return { ...observed, projector, readYourWrites };
  };

  t.test('waiters on one stream share one catch-up from the log', async (t) => {
    const { id } = await alice.createChat('Shared');
    const streamId = groupChatStream(id);
    const { readYourWrites, readsOf, hold, release } = setup();
    hold();
    const waits = Array.from({ length: 20 }, () => readYourWrites.reach({ streamId, version: 1 }, 'alice'));
    await until(() => readYourWrites.waiting === 20);
    release();
    t.same(await Promise.all(waits), Array(20).fill(true));
    t.ok(readsOf(streamId) <= 2, `20 waiters, ${readsOf(streamId)} reads of the log (the one running, and one after it)`);
    t.equal(readYourWrites.waiting, 0);
  });

  t.test('a waiter is woken by the projector applying its version, without polling', async (t) => {
    const { id } = await alice.createChat('Wake up');
    const streamId = groupChatStream(id);
    const { readYourWrites, projector, readsOf } = setup();
    await projector.catchUp(streamId);
    const wait = readYourWrites.reach({ streamId, version: 2 }, 'alice');
    await until(() => readYourWrites.waiting === 1 && readsOf(streamId) === 2);
    const [commit] = await renameTimes(store, streamId, 1, 2);
    await projector.apply(commit!);
    t.equal(await wait, true, 'woken well before its 60 s deadline');
    t.equal(readsOf(streamId), 2, 'the log was read by the catch-ups only, never polled');
  });

  t.test('past the cap a query is told 503 with Retry-After; the waiting ones still wake', async (t) => {
    const { id } = await alice.createChat('Crowded');
    const streamId = groupChatStream(id);
    const { readYourWrites, projector } = setup({ maxWaiters: 2 });
    await projector.catchUp(streamId);
    const waits = [readYourWrites.reach({ streamId, version: 3 }, 'alice'), readYourWrites.reach({ streamId, version: 3 }, 'alice')];
    await until(() => readYourWrites.waiting === 2);
    const refused = await readYourWrites.reach({ streamId, version: 3 }, 'alice').catch((error: unknown) => error);
    t.ok(Boom.isBoom(refused), 'a Boom');
    t.match(refused, { output: { statusCode: 503, headers: { 'Retry-After': '1' } } });
    t.equal(await readYourWrites.reach({ streamId, version: 1 }, 'alice'), true, 'a version already reached never waits, so never counts');
    await renameTimes(store, streamId, 1, 3);
    await projector.catchUp(streamId);
    t.same(await Promise.all(waits), [true, true]);
    t.equal(readYourWrites.waiting, 0);
  });

  t.test('a version that never comes answers false at the deadline', async (t) => {
    const { id } = await alice.createChat('Never');
    const { readYourWrites } = setup({ timeoutMs: 20 });
    t.equal(await readYourWrites.reach({ streamId: groupChatStream(id), version: 9 }, 'alice'), false);
    t.equal(readYourWrites.waiting, 0);
  });

  t.test('a catch-up that cannot reach the log fails its waiters (503 upstream)', async (t) => {
    const broken = wrapStore(store, {
      readStream: async () => {
        throw new EventStoreUnavailableError('log unreachable');
      },
    });
    const readYourWrites = new ReadYourWrites(new Projector(database.db, broken), database.db, { timeoutMs: 60_000, maxWaiters: 10, maxWaitersPerCaller: 10 });
    await t.rejects(readYourWrites.reach({ streamId: groupChatStream(randomUUID()), version: 1 }, 'alice'), { name: 'EventStoreUnavailableError' });
    t.equal(readYourWrites.waiting, 0);
  });

  t.test('a catch-up that cannot apply a commit is reported, and its waiters answer "not reached"', async (t) => {
    const { id } = await alice.createChat('From the future');
    const streamId = groupChatStream(id);
    await store.append({ streamId, expectedVersion: 1, commandId: randomUUID(), actorId: 'alice', occurredAt: new Date().toISOString(), events: [{ type: 'GroupChatArchived', data: {} }] as never });
    const reported: [string, Error][] = [];
    const readYourWrites = new ReadYourWrites(new Projector(database.db, store), database.db, {
      timeoutMs: 60_000,
      maxWaiters: 10,
      maxWaitersPerCaller: 10,
      onProjectionFailure: (failed, error) => reported.push([failed, error]),
    });
    t.equal(await readYourWrites.reach({ streamId, version: 2 }, 'alice'), false, 'at once, not at the deadline');
    t.equal(await readYourWrites.follows('alice', { streamId, version: 2 }), true, 'the chat itself applied up to the unknown event');
    t.equal(reported.length, 1);
    t.match(reported[0], [streamId, { name: 'UnknownEventTypeError', message: /unknown type "GroupChatArchived"/ }]);
    t.equal(readYourWrites.waiting, 0);
  });

  t.test('one caller cannot take every waiting slot', async (t) => {
    const { id } = await alice.createChat('Hogged');
    const streamId = groupChatStream(id);
    const { readYourWrites, projector } = setup({ maxWaiters: 10, maxWaitersPerCaller: 2 });
    await projector.catchUp(streamId);
    const mallory = [readYourWrites.reach({ streamId, version: 2 }, 'mallory'), readYourWrites.reach({ streamId, version: 2 }, 'mallory')];
    await until(() => readYourWrites.waiting === 2);
    const refused = await readYourWrites.reach({ streamId, version: 2 }, 'mallory').catch((error: unknown) => error);
    t.match(refused, { output: { statusCode: 503, headers: { 'Retry-After': '1' } } }, 'a third wait of the same caller');
    const alices = readYourWrites.reach({ streamId, version: 2 }, 'alice');
    await until(() => readYourWrites.waiting === 3);
    t.pass('another caller still waits');
    await renameTimes(store, streamId, 1, 2);
    await projector.catchUp(streamId);
    t.same(await Promise.all([...mallory, alices]), [true, true, true]);
    t.equal(readYourWrites.waiting, 0);
    const again = [readYourWrites.reach({ streamId, version: 3 }, 'mallory'), readYourWrites.reach({ streamId, version: 3 }, 'mallory')];
    await until(() => readYourWrites.waiting === 2);
    t.pass('the slots are given back');
    await renameTimes(store, streamId, 2, 3);
    await projector.catchUp(streamId);
    t.same(await Promise.all(again), [true, true]);
  });

  t.test('tokens naming streams the caller cannot see read the log within the same caps: past them 503, before any read', async (t) => {
    const { readYourWrites, hold, release, readsOf } = setup({ maxWaiters: 10, maxWaitersPerCaller: 3 });
    hold();
    // mallory names streams nobody has (each would be a catch-up from the log),
    const unknown = () => ({ streamId: groupChatStream(randomUUID()), version: 5 });
    const mallory = Array.from({ length: 3 }, () => readYourWrites.follows('mallory', unknown()));
    await until(() => readYourWrites.waiting === 3);
    // and a fourth at once is refused before it reads anything;
    const fourth = unknown();
    const refused = await readYourWrites.follows('mallory', fourth).catch((error: unknown) => error);
    t.match(refused, { output: { statusCode: 503, headers: { 'Retry-After': '1' } } }, 'a fourth of the same caller');
    t.equal(readsOf(fourth.streamId), 0, 'no read of the log for it');
    // another caller still gets a slot,
    const aliceFollows = readYourWrites.follows('alice', unknown());
    await until(() => readYourWrites.waiting === 4);
    release();
    t.same(await Promise.all([...mallory, aliceFollows]), [false, false, false, false], 'none of them is anyone\'s to follow');
    // and every slot is given back.
    t.equal(readYourWrites.waiting, 0);
  });

  t.test('who may follow a token', async (t) => {
    const chat = await alice.createChat('Followed');
    await alice.addMember(chat.id, 'bob');
    const posted = await alice.post(chat.id, 'hello');
    const { readYourWrites } = setup();
    const chatToken = { streamId: groupChatStream(chat.id), version: 2 };
    const messageToken = { streamId: messageStream(posted.id), version: 1 };
    t.equal(await readYourWrites.follows('alice', chatToken), true, 'a member, even before the projection saw the chat');
    t.equal(await readYourWrites.follows('bob', chatToken), true);
    t.equal(await readYourWrites.follows('bob', messageToken), true, 'a member, for a message of the chat');
    t.equal(await readYourWrites.follows('eve', chatToken), false, 'not a member');
    t.equal(await readYourWrites.follows('eve', messageToken), false, 'not a member of the message’s chat');
    t.equal(await readYourWrites.follows('eve', { streamId: groupChatStream(randomUUID()), version: 1 }), false, 'an unknown chat');
    t.equal(await readYourWrites.follows('eve', { streamId: messageStream(randomUUID()), version: 1 }), false, 'an unknown message');
  });

  t.test('a foreign stream and an unknown one cost the same reads of the log and the same SQL', async (t) => {
    const chat = await alice.createChat('Probed');
    const posted = await alice.post(chat.id, 'secret');
    const { db: counted, statements } = recordingStatements(database.db);
    const observed = observedLog(store);
    const readYourWrites = new ReadYourWrites(new Projector(counted, observed.log), counted, { timeoutMs: 60_000, maxWaiters: 10, maxWaitersPerCaller: 10 });
    await readYourWrites.follows('alice', { streamId: groupChatStream(chat.id), version: 1 });
    await readYourWrites.follows('alice', { streamId: messageStream(posted.id), version: 1 });
    const probe = async (streamId: string) => {
      observed.reads.length = 0;
      statements.length = 0;
      const followed = await readYourWrites.follows('eve', { streamId, version: 1 });
      return { followed, reads: observed.reads.length, statements: [...statements] };
    };
    const foreignChat = await probe(groupChatStream(chat.id));
    t.same(foreignChat, await probe(groupChatStream(randomUUID())));
    const foreignMessage = await probe(messageStream(posted.id));
    t.same(foreignMessage, await probe(messageStream(randomUUID())));
    t.equal(foreignMessage.followed, false);
    t.ok(foreignMessage.statements.length > 0, `${foreignMessage.statements.length} statements each`);
  });
});
