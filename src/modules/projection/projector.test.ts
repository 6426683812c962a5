import t from 'tap';
import type { Kysely } from 'kysely';
import { groupChatStream, messageStream } from '../../contracts/streams.ts';
import type { Commit, EventStore } from '../../eventstore/index.ts';
import { commandServer } from '../../testing/command-server.ts';
import { eachDatabase } from '../../testing/databases.ts';
import { prng } from '../../testing/prng.ts';
import { closeTestDynamoDb, freshEventStore } from '../../testing/stores.ts';
import type { Database } from './database.ts';
import { bulkLoad } from './bulk-load.ts';
import { Projector } from './projector.ts';

t.teardown(closeTestDynamoDb);

/** A history made through the real command side: every event type, several streams. */
async function writeHistory(store: EventStore) {
  const api = await commandServer(store);
  const alice = api.as('alice');
  const bob = api.as('bob');
  const team = await alice.createChat('Team');
  await alice.addMember(team.id, 'bob');
  await alice.addMember(team.id, 'carol', 'admin');
  await alice.changeRole(team.id, 'bob', 'admin');
  await alice.rename(team.id, 'Core team');
  await api.as('carol').removeMember(team.id, 'carol');
  const hello = await bob.post(team.id, 'hello');
  const edited = await alice.post(team.id, 'first draft');
  await alice.edit(team.id, edited.id, 'final text');
  const gone = await bob.post(team.id, 'oops');
  await bob.deleteMessage(team.id, gone.id);
  const doomed = await bob.createChat('Doomed');
  await bob.post(doomed.id, 'soon gone');
  await bob.deleteChat(doomed.id);
  return { team: team.id, doomed: doomed.id, hello: hello.id, edited: edited.id, gone: gone.id };
}

async function allCommits(store: EventStore): Promise<Commit[]> {
  const commits: Commit[] = [];
  for await (const page of store.scan()) commits.push(...page);
  return commits;
}

/** Every projected row, in a stable order, dates as ISO strings. */
async function snapshot(db: Kysely<Database>) {
  const rows = async (table: keyof Database, order: string[]) => {
    let query = db.selectFrom(table).selectAll();
    for (const column of order) query = query.orderBy(column as never);
    return JSON.parse(JSON.stringify(await query.execute())) as Record<string, unknown>[];
  };
  return {
    group_chats: await rows('group_chats', ['group_chat_id']),
    members: await rows('members', ['group_chat_id', 'user_id']),
    messages: await rows('messages', ['message_id']),
    stream_positions: await rows('stream_positions', ['stream_id']),
  };
}

eachDatabase(t, 'projector', async (t, open) => {
  const { store } = await freshEventStore();
  const ids = await writeHistory(store);
  const commits = await allCommits(store);

  const reference = await open();
  const applied = await new Projector(reference.db, store).catchUpAll();
  t.equal(applied.scanned, commits.length);
  const expected = await snapshot(reference.db);

  t.test('the rows say what happened', async (t) => {
    t.match(expected.group_chats, [
      { group_chat_id: [ids.team, ids.doomed].sort()[0] },
      { group_chat_id: [ids.team, ids.doomed].sort()[1] },
    ]);
    const team = expected.group_chats.find((r) => r.group_chat_id === ids.team);
    t.match(team, { name: 'Core team', owner_id: 'alice', version: 6, deleted: false });
    t.match(expected.group_chats.find((r) => r.group_chat_id === ids.doomed), { deleted: true, version: 2 });
    t.same(
      expected.members.filter((m) => m.group_chat_id === ids.team).map((m) => [m.user_id, m.role]),
      [
        ['alice', 'admin'],
        ['bob', 'admin'],
      ],
    );
    const messages = new Map(expected.messages.map((m) => [m.message_id, m]));
    t.match(messages.get(ids.hello), { author_id: 'bob', text: 'hello', edited_at: null, group_chat_id: ids.team });
    t.match(messages.get(ids.edited), { text: 'final text', edited_at: String });
    t.notOk(messages.has(ids.gone), 'a deleted message has no row');
    t.match(expected.stream_positions.find((p) => p.stream_id === groupChatStream(ids.team)), { version: 6 });
    t.match(expected.stream_positions.find((p) => p.stream_id === messageStream(ids.gone)), { version: 2 });
  });

  t.test('duplicated, reordered and gapped deliveries give the same rows', async (t) => {
    for (const seed of [1, 2, 3, 4]) {
      const { next: random } = prng(seed);
      const deliveries = commits.flatMap((commit) => (random() < 0.4 ? [commit, commit] : [commit]));
      for (let i = deliveries.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [deliveries[i], deliveries[j]] = [deliveries[j]!, deliveries[i]!];
      }
      const database = await open();
      const projector = new Projector(database.db, store);
      for (const commit of deliveries) await projector.apply(commit);
      t.same(await snapshot(database.db), expected, `interleaving ${seed}`);
    }
  });

  t.test('in reverse order', async (t) => {
    const database = await open();
    const projector = new Projector(database.db, store);
    for (const commit of [...commits].reverse()) await projector.apply(commit);
    t.same(await snapshot(database.db), expected);
  });

  t.test('replayed from scratch, and replayed again on top', async (t) => {
    const database = await open();
    const projector = new Projector(database.db, store);
    await projector.catchUpAll();
    const again = await projector.catchUpAll();
    t.equal(again.applied, 0, 'a second pass applies nothing');
    for (const commit of commits) t.equal(await projector.apply(commit), 0, 'nothing is applied twice');
    t.same(await snapshot(database.db), expected);
  });

  t.test('the bulk load of a rebuild writes the very same rows as the live projector', async (t) => {
    const database = await open();
    const loaded = await bulkLoad(database.db, store);
    t.equal(loaded.scanned, commits.length);
    t.same(await snapshot(database.db), expected);
  });

  t.test('commits appended while the projector was stopped appear when it starts', async (t) => {
    const { store: log } = await freshEventStore();
    const api = await commandServer(log);
    const { id } = await api.as('dora').createChat('Before');
    const database = await open();
    await new Projector(database.db, log).catchUpAll();
    // the projector is "down": nothing is delivered while these are written
    await api.as('dora').rename(id, 'While down');
    const posted = await api.as('dora').post(id, 'written while down');
    const restarted = new Projector(database.db, log);
    const { applied } = await restarted.catchUpAll();
    t.equal(applied, 2);
    t.match(await database.db.selectFrom('group_chats').selectAll().executeTakeFirst(), { name: 'While down', version: 2 });
    t.match(await database.db.selectFrom('messages').selectAll().execute(), [{ message_id: posted.id }]);
  });

  t.test('streams of other kinds are ignored', async (t) => {
    const database = await open();
    const projector = new Projector(database.db, store);
    const foreign: Commit = {
      streamId: 'Invoice-1',
      version: 1,
      commandId: 'c',
      actorId: 'x',
      occurredAt: new Date().toISOString(),
      events: [{ type: 'InvoiceIssued', data: {} }],
    };
    t.equal(await projector.apply(foreign), 0);
    t.same((await snapshot(database.db)).stream_positions, []);
  });
});

eachDatabase(t, 'one batch, one transaction', async (t, open) => {
  const { store } = await freshEventStore();
  const api = await commandServer(store);
  const alice = api.as('alice');
  const { id: chat } = await alice.createChat('Batched');
  const kept = await alice.post(chat, 'kept');
  const refused = await alice.post(chat, 'edited into something Postgres refuses');
  await alice.edit(chat, refused.id, 'fine for now');

  t.test('a row the database refuses fails its commit alone; the rest of the batch applies', async (t) => {
    const database = await open();
    const projector = new Projector(database.db, store);
    const [posted, edited] = await store.readStream(messageStream(refused.id));
    // Text with a NUL byte is valid JSON and a valid commit, but no Postgres text column takes it.
    const poisoned: Commit = { ...edited!, events: [{ type: 'MessageEdited', data: { text: 'nul \u0000 byte' } }] };
    const [chatCommit] = await store.readStream(groupChatStream(chat));
    const [keptCommit] = await store.readStream(messageStream(kept.id));
    const results = await projector.applyBatch([chatCommit!, posted!, poisoned, keptCommit!]);
    t.match(results, [{ outcome: 'applied' }, { outcome: 'applied' }, { outcome: 'failed', error: { code: '22021' } }, { outcome: 'applied' }]);
    const rows = await database.db.selectFrom('messages').select(['message_id', 'text']).orderBy('message_id').execute();
    t.same(rows.map((r) => r.text).sort(), ['edited into something Postgres refuses', 'kept']);
    t.equal(await projector.position(messageStream(refused.id)), 1, 'the refused commit left the position before it');
  });

  t.test('every stream of a batch is announced once its transaction committed', async (t) => {
    const database = await open();
    const projector = new Projector(database.db, store);
    const heard: [string, number][] = [];
    projector.onPosition((streamId, version) => heard.push([streamId, version]));
    const commits = await allCommits(store);
    const results = await projector.applyBatch(commits);
    t.ok(results.every((r) => r.outcome === 'applied'));
    t.same(new Map(heard), new Map([[groupChatStream(chat), 1], [messageStream(kept.id), 1], [messageStream(refused.id), 2]]));
    t.same(await projector.applyBatch(commits), commits.map(() => ({ outcome: 'already-applied' })), 'a replay applies nothing');
  });
});
