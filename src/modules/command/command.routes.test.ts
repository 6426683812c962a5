import { randomUUID } from 'node:crypto';
import Jwt from '@hapi/jwt';
import t from 'tap';
import { decodeConsistencyToken } from '../../contracts/consistency-token.ts';
import { groupChatStream, messageStream } from '../../contracts/streams.ts';
import type { Commit } from '../../eventstore/index.ts';
import { VersionConflictError } from '../../eventstore/index.ts';
import { DynamoDbEventStore, createDynamoDbClient } from '../../eventstore/dynamodb-event-store.ts';
import { startLocalDynamoDb } from '../../eventstore/local-dynalite.ts';
import { commandServer, testSecret } from '../../testing/command-server.ts';
import { closeTestDynamoDb, freshEventStore, wrapStore } from '../../testing/stores.ts';

t.teardown(closeTestDynamoDb);

const setup = async () => {
  const { store } = await freshEventStore();
  const api = await commandServer(store);
  return { store, api, alice: api.as('alice'), bob: api.as('bob'), carol: api.as('carol'), eve: api.as('eve') };
};

t.test('create chat', async (t) => {
  const { store, alice } = await setup();
  const created = await alice.createChat('  Weekend trip  ');
  t.equal(created.status, 201);
  t.match(created.body, { groupChatId: /^[0-9a-f-]{36}$/, version: 1, token: String });
  t.equal(created.headers.etag, '"1"');
  t.same(decodeConsistencyToken(created.body.token as string), { streamId: groupChatStream(created.id), version: 1 });
  const [commit] = await store.readStream(groupChatStream(created.id));
  t.same(commit?.events, [
    { type: 'GroupChatCreated', data: { name: 'Weekend trip', ownerId: 'alice' } },
    { type: 'MemberAdded', data: { userId: 'alice', role: 'admin' } },
  ]);
  t.equal(commit?.actorId, 'alice');
  t.match((await alice.createChat('')).body, { statusCode: 400, message: /"name" is not allowed to be empty/ });
  t.match((await alice.createChat('x'.repeat(65))).body, { statusCode: 400, message: /"name".*64/ });
  t.match((await alice.createChat('tab\there')).body, { statusCode: 400, message: /"name" must not contain control characters/ });
  t.equal((await alice.createChat('Team', { 'if-match': '"1"' })).status, 400);
});

t.test('membership and roles, every status of docs/api.md', async (t) => {
  const { alice, bob, carol, eve } = await setup();
  const { id } = await alice.createChat();
  t.match(await alice.addMember(id, 'bob'), { status: 200, body: { version: 2 } });
  t.match(await alice.addMember(id, 'bob'), { status: 409 });
  t.match(await bob.addMember(id, 'carol'), { status: 403 });
  t.match(await eve.addMember(id, 'eve'), { status: 404 }, 'a non-member learns nothing');
  t.match(await alice.addMember(id, 'carol', 'owner'), { status: 400, body: { message: /"role" must be one of \[admin, member\]/ } });
  t.match(await alice.addMember(id, 'bad id!'), { status: 400, body: { message: /"userId"/ } });
  t.match(await alice.changeRole(id, 'alice', 'member'), { status: 409, body: { message: /last admin/ } });
  t.match(await alice.changeRole(id, 'bob', 'admin'), { status: 200, body: { version: 3 } });
  t.match(await bob.changeRole(id, 'alice', 'member'), { status: 200 });
  t.match(await alice.changeRole(id, 'bob', 'member'), { status: 403 });
  t.match(await bob.changeRole(id, 'zed', 'member'), { status: 404 });
  t.match(await bob.removeMember(id, 'bob'), { status: 409, body: { message: /last admin/ } });
  t.match(await bob.addMember(id, 'carol'), { status: 200 });
  t.match(await carol.removeMember(id, 'alice'), { status: 403 });
  t.match(await carol.removeMember(id, 'carol'), { status: 200 }, 'a member may leave');
  t.match(await bob.removeMember(id, 'carol'), { status: 404 });
  t.match(await alice.rename(id, 'New name'), { status: 403 });
  t.match(await bob.rename(id, 'New name'), { status: 200 });
  t.match(await bob.rename(id, '  New name '), { status: 409 });
  t.match(await bob.deleteChat(id), { status: 200 });
  for (const response of [
    await bob.rename(id, 'Again'),
    await bob.addMember(id, 'dave'),
    await bob.post(id, 'hello?'),
    await bob.deleteChat(id),
  ]) {
    t.equal(response.status, 410);
  }
  t.equal((await eve.rename(id, 'x')).status, 404, 'a deleted chat still hides from non-members');
});

t.test('a chat holds at most 100 members', async (t) => {
  const { alice } = await setup();
  const { id } = await alice.createChat();
  for (let n = 1; n < 100; n++) t.equal((await alice.addMember(id, `user${n}`)).status, 200);
  t.match(await alice.addMember(id, 'one-too-many'), { status: 409, body: { message: /100/ } });
});

t.test('messages', async (t) => {
  const { store, alice, bob, carol, eve } = await setup();
  const { id } = await alice.createChat();
  await alice.addMember(id, 'bob');
  await alice.addMember(id, 'carol');
  const posted = await bob.post(id, 'first!');
  t.match(posted, { status: 201, body: { messageId: /^[0-9a-f-]{36}$/, version: 1 } });
  const [commit] = await store.readStream(messageStream(posted.id));
  t.same(commit?.events, [{ type: 'MessagePosted', data: { groupChatId: id, authorId: 'bob', text: 'first!' } }]);
  t.match(await eve.post(id, 'let me in'), { status: 404 });
  t.match(await bob.post(id, '   '), { status: 400, body: { message: /"text" must contain a visible character/ } });
  t.match(await bob.post(id, 'x'.repeat(4001)), { status: 400, body: { message: /"text".*4000/ } });
  t.match(await bob.post(id, 'line one\nline two\ttabbed'), { status: 201 });
  t.match(await bob.post(id, 'beep\u0007'), { status: 400, body: { message: /control/ } });
  t.match(await carol.edit(id, posted.id, 'not mine'), { status: 403 });
  t.match(await alice.edit(id, posted.id, 'admins cannot edit either'), { status: 403 });
  t.match(await bob.edit(id, posted.id, 'first, edited'), { status: 200, body: { version: 2 } });
  t.match(await bob.edit(id, posted.id, 'stale', { 'if-match': '"1"' }), { status: 412 });
  t.match(await bob.edit(id, posted.id, 'fresh', { 'if-match': '"2"' }), { status: 200, body: { version: 3 } });
  t.match(await bob.edit(id, randomUUID(), 'nobody'), { status: 404 });
  const other = await alice.createChat('Other');
  t.match(await alice.deleteMessage(other.id, posted.id), { status: 404 }, "another chat's message");
  t.match(await carol.deleteMessage(id, posted.id), { status: 403 });
  t.match(await alice.deleteMessage(id, posted.id), { status: 200 }, 'an admin may delete');
  t.match(await bob.deleteMessage(id, posted.id), { status: 404 });
  t.match(await bob.edit(id, posted.id, 'after delete'), { status: 404 });
  const own = await carol.post(id, 'mine');
  t.match(await carol.deleteMessage(id, own.id), { status: 200 }, 'the author may delete');
});

t.test('the exact body of every refusal a client reads', async (t) => {
  const { alice, bob, eve } = await setup();
  const body = (statusCode: number, error: string, message: string) => ({ statusCode, error, message });
  const { id } = await alice.createChat();
  await alice.addMember(id, 'bob');
  const hidden = body(404, 'Not Found', 'group chat not found');
  t.same((await eve.rename(randomUUID(), 'x')).body, hidden, 'an unknown chat');
  t.same((await eve.rename(id, 'x')).body, hidden, "someone else's chat: the same body, nothing about membership");
  t.same((await eve.post(id, 'x')).body, hidden, 'a post into it too');
  t.same((await bob.rename(id, 'x')).body, body(403, 'Forbidden', 'only an admin may rename the group chat'));
  t.same((await bob.removeMember(id, 'alice')).body, body(403, 'Forbidden', 'only an admin may remove other members'));
  t.same((await alice.changeRole(id, 'zed', 'admin')).body, body(404, 'Not Found', 'zed is not a member'));
  t.same((await alice.addMember(id, 'bob')).body, body(409, 'Conflict', 'bob is already a member'));
  t.same((await alice.removeMember(id, 'alice')).body, body(409, 'Conflict', 'cannot remove the last admin'));
  t.same((await alice.rename(id, 'Team', { 'if-match': '"1"' })).body, body(412, 'Precondition Failed', 'If-Match is stale: version is 2, not 1'));
  const posted = await bob.post(id, 'hi');
  t.same((await alice.edit(id, posted.id, 'x')).body, body(403, 'Forbidden', 'only the author may edit a message'));
  t.same((await bob.edit(id, randomUUID(), 'x')).body, body(404, 'Not Found', 'message not found'));
  t.same((await eve.edit(id, posted.id, 'x')).body, hidden, "a stranger editing a message learns nothing of it");
  await alice.deleteChat(id);
  t.same((await bob.post(id, 'x')).body, body(410, 'Gone', 'group chat was deleted'));
  t.same((await eve.post(id, 'x')).body, hidden, 'a deleted chat still hides from non-members');
  await alice.createChat('One', { 'idempotency-key': 'k-1' });
  t.same((await alice.createChat('Two', { 'idempotency-key': 'k-1' })).body, body(422, 'Unprocessable Entity', 'Idempotency-Key was already used for a different request'));
});

t.test('If-Match', async (t) => {
  const { alice } = await setup();
  const { id } = await alice.createChat();
  t.match(await alice.rename(id, 'Two', { 'if-match': '"1"' }), { status: 200, body: { version: 2 } });
  t.match(await alice.rename(id, 'Three', { 'if-match': '"1"' }), { status: 412 });
  t.match(await alice.rename(id, 'Three', { 'if-match': '1' }), { status: 400, body: { message: /"if-match"/ } });
  t.match(await alice.addMember(randomUUID(), 'bob', 'member', { 'if-match': '"0"' }), { status: 404 });
});

t.test('concurrency', async (t) => {
  t.test('30 concurrent posts to one chat all succeed with distinct ids', async (t) => {
    const { alice } = await setup();
    const { id } = await alice.createChat();
    const responses = await Promise.all(Array.from({ length: 30 }, (_, n) => alice.post(id, `message ${n}`)));
    t.same(
      responses.map((r) => r.status),
      Array(30).fill(201),
    );
    t.equal(new Set(responses.map((r) => r.id)).size, 30);
  });

  t.test('30 concurrent commands on one stream all succeed, each at its own version', async (t) => {
    const { store, alice } = await setup();
    const { id } = await alice.createChat();
    const responses = await Promise.all(Array.from({ length: 30 }, (_, n) => alice.addMember(id, `user${n}`)));
    t.same(
      responses.map((r) => r.status),
      Array(30).fill(200),
    );
    t.same(
      responses.map((r) => r.body.version as number).sort((a, b) => a - b),
      Array.from({ length: 30 }, (_, n) => n + 2),
    );
    const commits = await store.readStream(groupChatStream(id));
    t.equal(commits.length, 31);
  });

  t.test('rules still hold under concurrency: of two admins demoting each other, one wins', async (t) => {
    const { store, api, alice } = await setup();
    const { id } = await alice.createChat();
    await alice.addMember(id, 'bob', 'admin');
    const [a, b] = await Promise.all([alice.changeRole(id, 'bob', 'member'), api.as('bob').changeRole(id, 'alice', 'member')]);
    // Whoever loses is re-decided as a plain member by then: 403, never a second demotion.
    t.same([a.status, b.status].sort(), [200, 403]);
    const events = (await store.readStream(groupChatStream(id))).flatMap((c) => c.events);
    t.equal(events.filter((e) => e.type === 'MemberRoleChanged').length, 1);
  });

  t.test('a busy stream gives up after the configured attempts with 503', async (t) => {
    const { store } = await freshEventStore();
    // Another writer gets in before every append this server makes.
    const racing = wrapStore(store, {
      append: async (request) => {
        const rename = { type: 'GroupChatRenamed', data: { name: randomUUID() } };
        await store.append({ ...request, commandId: randomUUID(), events: [rename] });
        return store.append(request);
      },
    });
    const api = await commandServer(racing, { maxAttempts: 3 });
    const seed = await commandServer(store);
    const { id } = await seed.as('alice').createChat();
    const response = await api.as('alice').addMember(id, 'bob');
    t.equal(response.status, 503);
    t.equal(response.headers['retry-after'], '1');
  });
});

t.test('Idempotency-Key', async (t) => {
  t.test('a retried create returns the identical answer and appends nothing, even after a restart', async (t) => {
    const { store, alice } = await setup();
    const key = { 'idempotency-key': 'create-1' };
    const first = await alice.createChat('Trip', key);
    const again = await alice.createChat('Trip', key);
    t.equal(first.status, 201);
    t.equal(again.status, 201);
    t.equal(again.payload, first.payload);
    const restarted = (await commandServer(store)).as('alice');
    const afterRestart = await restarted.createChat('Trip', key);
    t.equal(afterRestart.status, 201);
    t.equal(afterRestart.payload, first.payload);
    t.equal((await store.readStream(groupChatStream(first.id))).length, 1);
  });

  t.test('the same key from another user is another command', async (t) => {
    const { alice, bob } = await setup();
    const key = { 'idempotency-key': 'shared-key' };
    const a = await alice.createChat('Trip', key);
    const b = await bob.createChat('Trip', key);
    t.not(a.id, b.id);
  });

  t.test('retried posts and updates return the original answer', async (t) => {
    const { store, alice } = await setup();
    const { id } = await alice.createChat();
    const key = { 'idempotency-key': 'post-1' };
    const first = await alice.post(id, 'hello', key);
    await alice.post(id, 'something else');
    const again = await alice.post(id, 'hello', key);
    t.equal(again.status, 201);
    t.equal(again.payload, first.payload);
    t.equal((await store.readStream(messageStream(first.id))).length, 1);

    const renameKey = { 'idempotency-key': 'rename-1' };
    const renamed = await alice.rename(id, 'Renamed', renameKey);
    await alice.addMember(id, 'bob');
    const renamedAgain = await alice.rename(id, 'Renamed', renameKey);
    t.equal(renamedAgain.status, 200, 'not 409, although the name is now unchanged');
    t.equal(renamedAgain.payload, renamed.payload);
    t.equal((await store.readStream(groupChatStream(id))).length, 3);
  });

  t.test('concurrent duplicates append once and all get the same answer', async (t) => {
    const { store, alice } = await setup();
    const key = { 'idempotency-key': 'burst' };
    const responses = await Promise.all(Array.from({ length: 10 }, () => alice.createChat('Burst', key)));
    t.same(new Set(responses.map((r) => r.status)), new Set([201]));
    t.equal(new Set(responses.map((r) => r.payload)).size, 1);
    t.equal((await store.readStream(groupChatStream(responses[0]!.id))).length, 1);
  });

  t.test('reusing a key for a different request is refused', async (t) => {
    const { alice } = await setup();
    const key = { 'idempotency-key': 'reused' };
    await alice.createChat('One', key);
    t.match(await alice.createChat('Two', key), { status: 422, body: { message: /Idempotency-Key/ } });
  });

  t.test('a malformed key is 400', async (t) => {
    const { alice } = await setup();
    t.match(await alice.createChat('x', { 'idempotency-key': 'k'.repeat(129) }), { status: 400, body: { message: /"idempotency-key"/ } });
    t.match(await alice.createChat('x', { 'idempotency-key': 'has space' }), { status: 400 });
  });

  t.test('an append that landed but reported failure is not repeated', async (t) => {
    const { store } = await freshEventStore();
    let failNext = true;
    const flaky = wrapStore(store, {
      append: async (request) => {
        const commit = await store.append(request);
        if (failNext) {
          failNext = false;
          // What a retried PutItem sees when its first attempt had in fact been written.
          throw new VersionConflictError(request.streamId, request.expectedVersion);
        }
        return commit;
      },
    });
    const alice = (await commandServer(flaky)).as('alice');
    const created = await alice.createChat('Once');
    t.equal(created.status, 201);
    t.equal((await store.readStream(groupChatStream(created.id))).length, 1);
  });
});

t.test('authentication', async (t) => {
  const { store, api } = await setup();
  const url = '/command/v1/group-chats';
  const call = (authorization?: string) =>
    api.server.inject({ method: 'POST', url, payload: { name: 'x' }, headers: authorization ? { authorization } : {} });
  const sign = (payload: object, key = testSecret, algorithm: 'HS256' | 'HS512' = 'HS256') =>
    Jwt.token.generate(payload, { key, algorithm });
  const now = Math.floor(Date.now() / 1000);
  const cases: [string, string | undefined, RegExp][] = [
    ['missing', undefined, /Missing authentication/],
    ['not a bearer token', 'Basic YWxpY2U6eA==', /Missing authentication/],
    ['garbage', 'Bearer not.a.jwt', /./],
    ['forged signature', `Bearer ${sign({ sub: 'alice', exp: now + 3600 }, 'another-secret-of-16-chars')}`, /signature/],
    ['expired', `Bearer ${sign({ sub: 'alice', exp: now - 120 })}`, /expired/],
    ['without exp', `Bearer ${sign({ sub: 'alice' })}`, /expiry/],
    ['bad sub', `Bearer ${sign({ sub: 'alice smith', exp: now + 3600 })}`, /sub/],
    ['no sub', `Bearer ${sign({ exp: now + 3600 })}`, /sub/],
    [
      'alg none',
      `Bearer ${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(
        JSON.stringify({ sub: 'alice', exp: now + 3600 }),
      ).toString('base64url')}.`,
      /./,
    ],
    ['HS512 instead of HS256', `Bearer ${sign({ sub: 'alice', exp: now + 3600 }, testSecret, 'HS512')}`, /./],
  ];
  for (const [name, header, message] of cases) {
    const response = await call(header);
    t.equal(response.statusCode, 401, name);
    t.match(JSON.parse(response.payload), { statusCode: 401, message }, name);
  }
  const ok = await call(`Bearer ${sign({ sub: 'alice', exp: now + 3600 })}`);
  t.equal(ok.statusCode, 201);
  let commits = 0;
  for await (const page of store.scan()) commits += page.length;
  t.equal(commits, 1, 'only the authenticated call wrote');
});

t.test('bodies over 16 KB are 413, malformed JSON 400', async (t) => {
  const { api } = await setup();
  const big = await api.send('alice', 'POST', '/command/v1/group-chats', { name: 'x', padding: 'y'.repeat(17 * 1024) });
  t.equal(big.status, 413);
  const bad = await api.server.inject({
    method: 'POST',
    url: '/command/v1/group-chats',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${Jwt.token.generate({ sub: 'a', exp: Math.floor(Date.now() / 1000) + 60 }, testSecret)}` },
    payload: '{"name": "x"',
  });
  t.equal(bad.statusCode, 400);
});

t.test('health', async (t) => {
  const { api } = await setup();
  const shallow = await api.send(undefined, 'GET', '/command/v1/healthcheck');
  t.equal(shallow.status, 200);
  t.equal(shallow.payload, 'Command Server Working!');
  t.match(shallow.headers['content-type'], /text\/plain/);
  t.equal((await api.send(undefined, 'GET', '/command/v1/healthcheck?deep=true')).status, 200);
  t.equal((await api.send(undefined, 'GET', '/command/v1/healthcheck?deep=maybe')).status, 400);
});

t.test('an unreachable event log', async (t) => {
  const gone = await startLocalDynamoDb();
  await gone.close();
  const store = new DynamoDbEventStore({ client: createDynamoDbClient({ endpoint: gone.endpoint }), tableName: 'events' });
  const api = await commandServer(store);
  const create = await api.as('alice').createChat('Down');
  t.equal(create.status, 503);
  t.equal(create.headers['retry-after'], '1');
  t.match(create.body, { statusCode: 503, message: /event store/ });
  t.notMatch(create.payload, /at .*\.ts/, 'no stack trace');
  const deep = await api.send(undefined, 'GET', '/command/v1/healthcheck?deep=true');
  t.equal(deep.status, 503);
  t.ok(deep.headers['retry-after']);
  t.equal((await api.send(undefined, 'GET', '/command/v1/healthcheck')).status, 200, 'the process keeps serving');
});

t.test('onAppended sees each new commit once, and its failures never fail a command', async (t) => {
  const { store } = await freshEventStore();
  const seen: Commit[] = [];
  let settle: () => void;
  const twoSeen = new Promise<void>((resolve) => (settle = resolve));
  const api = await commandServer(store, {
    onAppended: (commit) => {
      seen.push(commit);
      if (seen.length === 2) settle();
      throw new Error('projector is down');
    },
  });
  const key = { 'idempotency-key': 'once' };
  const { id } = await api.as('alice').createChat('Seen', key);
  await api.as('alice').createChat('Seen', key);
  const posted = await api.as('alice').post(id, 'hi');
  t.equal(posted.status, 201);
  await twoSeen;
  t.same(
    seen.map((c) => [c.streamId, c.version]),
    [
      [groupChatStream(id), 1],
      [messageStream(posted.id), 1],
    ],
  );
});

t.test("a path parameter or body field is looked up by its own name, never through an object's prototype", async (t) => {
  const { body, params } = await import('./command.schemas.ts');
  t.throws(() => params(['constructor' as never]), /no schema for the path parameter \{constructor\}/);
  t.throws(() => params(['__proto__' as never]), /no schema for the path parameter/);
  t.throws(() => body('X', { text: 'toString' as never }), /no schema for the field kind toString/);
  t.throws(() => body('X', { text: '__proto__' as never }), /no schema for the field kind/);
  t.same(Object.keys(params(['id', 'userId']).describe().keys ?? {}), ['id', 'userId']);
});
