import { ScanCommand } from '@aws-sdk/client-dynamodb';
import t from 'tap';
import { groupChatStream } from '../contracts/streams.ts';
import { isKeyRecord } from '../eventstore/index.ts';
import { createDynamoDbClient } from '../eventstore/dynamodb-event-store.ts';
import type { Commit, EventStore } from '../eventstore/index.ts';
import { Projector } from '../modules/projection/index.ts';
import { commandServer } from '../testing/command-server.ts';
import { openTestDatabase } from '../testing/databases.ts';
import { closeTestDynamoDb, freshEventStore, wrapStore } from '../testing/stores.ts';

/**
 * docs/api.md, idempotency: an Idempotency-Key names one request of one caller across the whole
 * API. Reusing it for any other request (another chat, another route, another body) answers 422,
 * also after a restart; a retry of the same request answers as the first time and appends nothing;
 * two callers' keys never meet.
 */

t.teardown(closeTestDynamoDb);

async function commits(store: EventStore): Promise<Commit[]> {
  const all: Commit[] = [];
  for await (const page of store.scan()) all.push(...page);
  return all;
}

t.test('one key, one request', async (t) => {
  const { store } = await freshEventStore();
  const api = await commandServer(store);
  const alice = api.as('alice');
  const d = await alice.createChat('D');
  const e = await alice.createChat('E');
  const key = { 'idempotency-key': 'rename-once' };

  const renamed = await alice.rename(d.id, 'D renamed', key);
  t.equal(renamed.status, 200);
  t.match(await alice.rename(e.id, 'D renamed', key), { status: 422, body: { message: /Idempotency-Key/ } }, 'another chat');
  t.match(await alice.rename(d.id, 'Something else', key), { status: 422 }, 'another body');
  t.match(await alice.addMember(d.id, 'bob', 'member', key), { status: 422 }, 'another route');
  t.match(await alice.createChat('D renamed', key), { status: 422 }, 'a create');
  t.match(await alice.post(d.id, 'D renamed', key), { status: 422 }, 'a post');
  t.match(await alice.deleteChat(e.id, key), { status: 422 }, 'a delete');
  const again = await alice.rename(d.id, 'D renamed', key);
  t.equal(again.status, 200, 'the request itself, retried');
  t.equal(again.payload, renamed.payload, 'answers as the first time');

  const restarted = (await commandServer(store)).as('alice');
  t.match(await restarted.rename(e.id, 'D renamed', key), { status: 422 }, 'after a restart, another chat still');
  t.equal((await restarted.rename(d.id, 'D renamed', key)).payload, renamed.payload, 'after a restart, the retry still answers');

  const bob = api.as('bob');
  const bobs = await bob.createChat('Bob', key);
  t.equal(bobs.status, 201, "another caller's key of the same text is another key");
  t.equal((await bob.createChat('Bob', key)).payload, bobs.payload);

  const names = (await store.readStream(groupChatStream(d.id))).flatMap((c) => c.events.map((event) => event.type));
  t.same(names, ['GroupChatCreated', 'MemberAdded', 'GroupChatRenamed'], 'one rename, whatever came after');
  t.equal((await store.readStream(groupChatStream(e.id))).length, 1, 'nothing reached chat E');
});

t.test('a crash between the key record and the append', async (t) => {
  const { store } = await freshEventStore();
  let crash = true;
  // The process dies after the key record is written and before its append.
  const crashing = wrapStore(store, {
    append: async (request) => {
      if (crash) {
        crash = false;
        throw new Error('process killed');
      }
      return store.append(request);
    },
  });
  const key = { 'idempotency-key': 'interrupted' };
  const first = await (await commandServer(crashing)).as('alice').createChat('Interrupted', key);
  t.equal(first.status, 500, 'the first attempt never completed');
  const alice = (await commandServer(store)).as('alice');
  t.match(await alice.createChat('Something else', key), { status: 422 }, 'the key still names the first request');
  const retried = await alice.createChat('Interrupted', key);
  t.equal(retried.status, 201, 'a retry completes the original request');
  t.equal((await alice.createChat('Interrupted', key)).payload, retried.payload, 'and is idempotent from then on');
  t.equal((await store.readStream(groupChatStream(retried.id))).length, 1, 'one commit');
});

t.test('concurrent requests with one key', async (t) => {
  const { store } = await freshEventStore();
  const api = await commandServer(store);
  const alice = api.as('alice');
  const { id } = await alice.createChat('Busy');
  const same = await Promise.all(Array.from({ length: 8 }, () => alice.rename(id, 'Once', { 'idempotency-key': 'same' })));
  t.same(new Set(same.map((r) => r.status)), new Set([200]));
  t.equal(new Set(same.map((r) => r.payload)).size, 1, 'one answer');
  const different = await Promise.all(Array.from({ length: 8 }, (_, n) => alice.rename(id, `Name ${n}`, { 'idempotency-key': 'different' })));
  t.equal(different.filter((r) => r.status === 200).length, 1, 'exactly one request owns the key');
  t.equal(different.filter((r) => r.status === 422).length, 7, 'the others are refused');
  t.equal((await store.readStream(groupChatStream(id))).length, 3, 'create, one rename per key');
});

t.test('key records live in the events table without being mistaken for streams', async (t) => {
  const { store, tableName, endpoint } = await freshEventStore();
  const alice = (await commandServer(store)).as('alice');
  const { id } = await alice.createChat('Keyed', { 'idempotency-key': 'k1' });
  await alice.rename(id, 'Keyed again', { 'idempotency-key': 'k2' });
  const raw = await createDynamoDbClient({ endpoint, inProcess: true }).send(new ScanCommand({ TableName: tableName, ConsistentRead: true }));
  const keyRecords = (raw.Items ?? []).filter((item) => isKeyRecord(item));
  t.equal(keyRecords.length, 2, 'one record per key');
  t.notOk(JSON.stringify(keyRecords).includes('k1'), 'the raw key is never stored');
  t.same(
    (await commits(store)).map((c) => c.streamId),
    [groupChatStream(id), groupChatStream(id)],
    'scans yield commits only',
  );
  const database = await openTestDatabase(t, null);
  const caughtUp = await new Projector(database.db, store).catchUpAll();
  t.match(caughtUp, { streams: 1 }, "the projector's catch-up sees one stream");
  t.same(
    (await database.db.selectFrom('stream_positions').select('stream_id').execute()).map((row) => row.stream_id),
    [groupChatStream(id)],
  );
});

t.test('a refusal of the decision binds the key: a retry replays it after the state changed; another request with the key is 422', async (t) => {
  const { store } = await freshEventStore();
  const api = await commandServer(store);
  const alice = api.as('alice');
  const bob = api.as('bob');
  const chat = await alice.createChat('Refusals');
  await alice.addMember(chat.id, 'bob', 'member');

  // bob, a plain member, renames with a key: 403, and the key is bound to that answer;
  const key = { 'idempotency-key': 'bob-renames' };
  const refused = await bob.rename(chat.id, 'mine now', key);
  t.equal(refused.status, 403);
  // alice makes bob an admin; the identical retry still answers 403 and appends nothing,
  t.equal((await alice.changeRole(chat.id, 'bob', 'admin')).status, 200);
  const before = (await store.readStream(groupChatStream(chat.id))).length;
  const retried = await bob.rename(chat.id, 'mine now', key);
  t.same({ status: retried.status, body: retried.body }, { status: refused.status, body: refused.body }, 'the refusal, as it was');
  t.equal((await store.readStream(groupChatStream(chat.id))).length, before, 'nothing appended');
  // while the same rename with a new key is decided afresh (bob is an admin now).
  t.equal((await bob.rename(chat.id, 'mine now', { 'idempotency-key': 'bob-renames-again' })).status, 200);

  // A rule's refusal binds too: adding a member who is in already (409), then another body.
  const twice = { 'idempotency-key': 'add-bob' };
  t.equal((await alice.addMember(chat.id, 'bob', 'member', twice)).status, 409);
  t.match(await alice.addMember(chat.id, 'carol', 'member', twice), { status: 422, body: { message: /Idempotency-Key/ } }, 'another body is 422, not a new add');
  t.equal((await alice.addMember(chat.id, 'bob', 'member', twice)).status, 409, 'the same request still 409');

  // And so do "not found" and a stale If-Match.
  const stranger = { 'idempotency-key': 'eve-probes' };
  t.equal((await api.as('eve').rename(chat.id, 'x', stranger)).status, 404);
  t.equal((await api.as('eve').rename(chat.id, 'y', stranger)).status, 422);
  const stale = { 'idempotency-key': 'stale', 'if-match': '"1"' };
  t.equal((await alice.rename(chat.id, 'stale', stale)).status, 412);
  // (a request is its route, path and body: with a current If-Match it is the same request)
  t.equal((await alice.rename(chat.id, 'stale', { ...stale, 'if-match': `"${(await store.readStream(groupChatStream(chat.id))).length}"` })).status, 412, 'the 412 replayed');
  t.equal((await alice.rename(chat.id, 'other', stale)).status, 422, 'another body is 422');
});

t.test('answers before the decision bind nothing: a 400 leaves the key free', async (t) => {
  const { store } = await freshEventStore();
  const alice = (await commandServer(store)).as('alice');
  const chat = await alice.createChat('Free');
  const key = { 'idempotency-key': 'after-a-400' };
  t.equal((await alice.rename(chat.id, '', key)).status, 400);
  t.equal((await alice.rename(chat.id, 'fine', key)).status, 200, 'the key was not bound by the 400');
});
