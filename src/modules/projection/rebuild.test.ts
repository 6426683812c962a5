import t from 'tap';
import type { Kysely } from 'kysely';
import type { Commit } from '../../eventstore/index.ts';
import { commandServer } from '../../testing/command-server.ts';
import { eachDatabase } from '../../testing/databases.ts';
import { closeTestDynamoDb, freshEventStore, wrapStore } from '../../testing/stores.ts';
import type { Database } from './database.ts';
import { Projector } from './projector.ts';
import { rebuildProjections } from './rebuild.ts';

t.teardown(closeTestDynamoDb);

async function rows(db: Kysely<Database>) {
  return JSON.parse(
    JSON.stringify({
      chats: await db.selectFrom('group_chats').selectAll().orderBy('group_chat_id').execute(),
      members: await db.selectFrom('members').selectAll().orderBy('group_chat_id').orderBy('user_id').execute(),
      messages: await db.selectFrom('messages').selectAll().orderBy('message_id').execute(),
      positions: await db.selectFrom('stream_positions').selectAll().orderBy('stream_id').execute(),
    }),
  ) as Record<string, unknown[]>;
}

eachDatabase(t, 'rebuild', async (t, open) => {
  const { store } = await freshEventStore();
  const api = await commandServer(store);
  const alice = api.as('alice');
  const chats: string[] = [];
  for (let n = 0; n < 12; n++) {
    const { id } = await alice.createChat(`Chat ${n}`);
    chats.push(id);
    await alice.addMember(id, `member${n}`);
    await alice.post(id, `hello ${n}`);
  }
  // Every kind of event, so the rebuild's fold meets each rule the live path does.
  await alice.rename(chats[1]!, 'Renamed');
  await alice.changeRole(chats[1]!, 'member1', 'admin');
  await alice.removeMember(chats[2]!, 'member2');
  const edited = await alice.post(chats[3]!, 'first draft');
  await alice.edit(chats[3]!, edited.id, 'final text');
  const deleted = await alice.post(chats[3]!, 'oops');
  await alice.deleteMessage(chats[3]!, deleted.id);
  const doomed = await alice.createChat('Doomed');
  await alice.post(doomed.id, 'soon gone');
  await alice.deleteChat(doomed.id);
  const database = await open();
  await new Projector(database.db, store).catchUpAll();
  const expected = await rows(database.db);

  t.test('a damaged projection comes back whole, and progress is reported', async (t) => {
    await database.db.deleteFrom('members').execute();
    await database.db.updateTable('group_chats').set({ name: 'garbage' }).execute();
    const phases = new Set<string>();
    const result = await rebuildProjections(database, store, {
      onProgress: (p) => phases.add(p.streams === 0 ? 'reading' : 'applying'),
    });
    t.same(result, { commits: 46, events: 59, caughtUpAfterSwap: 0 });
    t.same(await rows(database.db), expected);
    t.same([...phases].sort(), ['applying', 'reading']);
  });

  t.test('queries during a rebuild never see a half-built table', async (t) => {
    // What a query reads: alice's live chats, from the live tables.
    const aliceChats = async () =>
      (
        await database.db
          .selectFrom('members')
          .innerJoin('group_chats', 'group_chats.group_chat_id', 'members.group_chat_id')
          .where('members.user_id', '=', 'alice')
          .where('group_chats.deleted', '=', false)
          .select('group_chats.group_chat_id')
          .execute()
      ).length;
    t.equal(await aliceChats(), 12);
    let done = false;
    const seen: number[] = [];
    const reader = (async () => {
      while (!done) {
        seen.push(await aliceChats());
        // Requests arrive through I/O; yield like one would (embedded PGlite answers without
        // leaving the microtask queue, and a bare loop would starve the rebuild's own I/O).
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    await rebuildProjections(database, store);
    done = true;
    await reader;
    t.ok(seen.length > 0);
    t.same(new Set(seen), new Set([12]), `${seen.length} reads, all complete`);
  });

  t.test('a write made while the rebuild reads the log is not lost', async (t) => {
    const live = new Projector(database.db, store);
    let written: Commit | undefined;
    const log = wrapStore(store, {
      scan: (options) =>
        (async function* () {
          for await (const page of store.scan(options)) {
            yield page;
            if (!written) {
              // the running service takes a command and projects it into the live tables
              const posted = await alice.post(chats[0]!, 'written during the rebuild');
              [written] = await store.readStream(`Message-${posted.id}`);
              await live.apply(written!);
            }
          }
        })(),
    });
    await rebuildProjections(database, log);
    t.ok(written);
    const messages = await database.db.selectFrom('messages').select('text').where('group_chat_id', '=', chats[0]!).execute();
    t.same(messages.map((m) => m.text).sort(), ['hello 0', 'written during the rebuild']);
  });
});
