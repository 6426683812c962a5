import t from 'tap';
import { eventually } from '../../testing/eventually.ts';
import { encodeConsistencyToken } from '../../contracts/consistency-token.ts';
import { groupChatStream } from '../../contracts/streams.ts';
import { appServer } from '../../testing/app-server.ts';
import { eachDatabase } from '../../testing/databases.ts';
import { closeTestDynamoDb, freshEventStore } from '../../testing/stores.ts';

t.teardown(closeTestDynamoDb);


eachDatabase(t, 'query API', async (t, open) => {
  const { store } = await freshEventStore();
  const database = await open();
  const api = await appServer(store, database);
  const alice = api.as('alice');
  const bob = api.as('bob');
  const get = (user: string, url: string, headers: Record<string, string> = {}) => api.send(user, 'GET', url, undefined, headers);
  const consistent = (token: unknown) => ({ 'x-consistency-token': token as string });

  t.test('a write is visible to a query given its token', async (t) => {
    const created = await alice.createChat('Read your writes');
    const listed = await get('alice', '/query/v1/group-chats', consistent(created.body.token));
    t.equal(listed.status, 200);
    t.match(listed.body, {
      items: [{ groupChatId: created.id, name: 'Read your writes', role: 'admin', memberCount: 1, lastMessageAt: null, version: 1 }],
      nextCursor: null,
    });
    const added = await alice.addMember(created.id, 'bob');
    const chat = await get('bob', `/query/v1/group-chats/${created.id}`, consistent(added.body.token));
    t.match(chat, {
      status: 200,
      body: {
        groupChatId: created.id,
        ownerId: 'alice',
        version: 2,
        members: [
          { userId: 'alice', role: 'admin' },
          { userId: 'bob', role: 'member' },
        ],
      },
    });
    const posted = await bob.post(created.id, 'visible?');
    const messages = await get('alice', `/query/v1/group-chats/${created.id}/messages`, consistent(posted.body.token));
    t.match(messages.body, { items: [{ messageId: posted.id, authorId: 'bob', text: 'visible?', editedAt: null }], nextCursor: null });
  });

  t.test('without a token, reads converge', async (t) => {
    const { id } = await bob.createChat('Eventually');
    const chat = await eventually(
      'the chat is projected',
      () => get('bob', `/query/v1/group-chats/${id}`),
      (r) => r.status === 200,
    );
    t.equal(chat.body.name, 'Eventually');
  });

  t.test('the token catches the projection up itself when delivery is off', async (t) => {
    const silent = await appServer(store, database, { deliver: false });
    const created = await silent.as('erin').createChat('Not delivered');
    t.equal((await silent.send('erin', 'GET', `/query/v1/group-chats/${created.id}`)).status, 404, 'not projected yet');
    const read = await silent.send('erin', 'GET', `/query/v1/group-chats/${created.id}`, undefined, consistent(created.body.token));
    t.equal(read.status, 200);
  });

  t.test('a token for a version the log does not hold answers 504 after the deadline', async (t) => {
    const quick = await appServer(store, database, { consistencyTimeoutMs: 100 });
    const { id } = await quick.as('alice').createChat('Future');
    const future = encodeConsistencyToken({ streamId: groupChatStream(id), version: 99 });
    t.match(await quick.send('alice', 'GET', '/query/v1/group-chats', undefined, consistent(future)), { status: 504 });
  });

  t.test('a malformed token is 400', async (t) => {
    for (const token of ['nonsense', 'x'.repeat(300), encodeConsistencyToken({ streamId: 'Other-1', version: 1 })]) {
      t.match(await get('alice', '/query/v1/group-chats', consistent(token)), {
        status: 400,
        body: { message: /"x-consistency-token"/ },
      });
    }
  });

  t.test('list: only my chats, newest activity first, deleted ones gone', async (t) => {
    const carol = api.as('carol');
    const first = await carol.createChat('First');
    const second = await carol.createChat('Second');
    const third = await carol.createChat('Third');
    await carol.addMember(first.id, 'dave');
    const posted = await carol.post(second.id, 'bump');
    const removed = await carol.deleteChat(third.id);
    await get('carol', '/query/v1/group-chats', consistent(removed.body.token));
    const listed = await get('carol', '/query/v1/group-chats', consistent(posted.body.token));
    t.same(
      (listed.body.items as { name: string }[]).map((c) => c.name),
      ['Second', 'First'],
    );
    t.match(listed.body.items, [
      { name: 'Second', memberCount: 1, lastMessageAt: String },
      { name: 'First', memberCount: 2, lastMessageAt: null },
    ]);
    const dave = await get('dave', '/query/v1/group-chats');
    t.match(dave.body.items, [{ name: 'First', role: 'member' }]);
    t.same((await get('nobody', '/query/v1/group-chats')).body, { items: [], nextCursor: null });
  });

  t.test('non-members, unknown and deleted chats are 404', async (t) => {
    const { id } = await alice.createChat('Private');
    const deleted = await alice.createChat('Deleted');
    const gone = await alice.deleteChat(deleted.id);
    await get('alice', '/query/v1/group-chats', consistent(gone.body.token));
    for (const [user, url] of [
      ['eve', `/query/v1/group-chats/${id}`],
      ['eve', `/query/v1/group-chats/${id}/messages`],
      ['alice', '/query/v1/group-chats/00000000-0000-7000-8000-000000000000'],
      ['alice', `/query/v1/group-chats/${deleted.id}`],
      ['alice', `/query/v1/group-chats/${deleted.id}/messages`],
    ] as const) {
      t.match(await get(user, url), { status: 404, body: { message: 'group chat not found' } }, `${user} ${url}`);
    }
    t.match(await get('alice', '/query/v1/group-chats/not-a-uuid'), { status: 400, body: { message: /"id"/ } });
    t.equal((await api.send(undefined, 'GET', '/query/v1/group-chats')).status, 401);
  });

  t.test('messages: newest first, paged by cursor, deleted ones absent', async (t) => {
    const { id } = await alice.createChat('Paging');
    const posted: string[] = [];
    let token: unknown;
    for (let n = 0; n < 7; n++) {
      const response = await alice.post(id, `message ${n}`);
      posted.push(response.id);
      token = response.body.token;
    }
    const removed = await alice.deleteMessage(id, posted[3]!);
    const edited = await alice.edit(id, posted[6]!, 'message 6, edited');
    await get('alice', '/query/v1/group-chats', consistent(removed.body.token));
    await get('alice', '/query/v1/group-chats', consistent(edited.body.token));
    await get('alice', '/query/v1/group-chats', consistent(token));
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const url = `/query/v1/group-chats/${id}/messages?limit=2${cursor ? `&before=${cursor}` : ''}`;
      const page = await get('alice', url);
      t.equal(page.status, 200);
      const body = page.body as unknown as { items: { messageId: string; text: string; editedAt: string | null }[]; nextCursor: string | null };
      t.ok(body.items.length <= 2);
      if (pages === 0) t.match(body.items[0], { text: 'message 6, edited', editedAt: String });
      seen.push(...body.items.map((i) => i.messageId));
      cursor = body.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    t.same(seen, [posted[6], posted[5], posted[4], posted[2], posted[1], posted[0]]);
    t.equal(pages, 3);
  });

  t.test('list: paged by cursor like messages, newest activity first', async (t) => {
    const frank = api.as('frank');
    const names = ['one', 'two', 'three', 'four', 'five'];
    const ids: string[] = [];
    let token: unknown;
    for (const name of names) {
      const created = await frank.createChat(name);
      ids.push(created.id);
      token = created.body.token;
    }
    const bumped = await frank.post(ids[1]!, 'two is the most recent now');
    await get('frank', '/query/v1/group-chats', consistent(token));
    await get('frank', '/query/v1/group-chats', consistent(bumped.body.token));
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await get('frank', `/query/v1/group-chats?limit=2${cursor ? `&before=${cursor}` : ''}`);
      t.equal(page.status, 200);
      const body = page.body as { items: { name: string }[]; nextCursor: string | null };
      t.ok(body.items.length <= 2);
      seen.push(...body.items.map((item) => item.name));
      cursor = body.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    t.same(seen, ['two', 'five', 'four', 'three', 'one']);
    t.equal(pages, 3);
    t.equal(((await get('frank', '/query/v1/group-chats')).body.items as unknown[]).length, 5, '50 per page by default');
  });

  t.test('bad limit or cursor is 400, never a 500', async (t) => {
    const { id, body } = await alice.createChat('Validation');
    const cursorOf = (at: string, messageId = '0192f0a0-0000-7000-8000-000000000000') =>
      Buffer.from(JSON.stringify([at, messageId])).toString('base64url');
    const queries = [
      'limit=0',
      'limit=201',
      'limit=1000000000',
      'limit=-1',
      'limit=1.5',
      'limit=abc',
      'before=%27%3B--',
      'before=bm90LWpzb24',
      'before=WyJ4IiwieSJd',
      `before=${cursorOf('0000-01-01T00:00:00.000Z')}`,
      `before=${cursorOf('-000001-01-01T00:00:00.000Z')}`,
      `before=${cursorOf('+275760-09-13T00:00:00.000Z')}`,
      `before=${cursorOf('1969-12-31T23:59:59.999Z')}`,
      `before=${cursorOf('2026-02-30T00:00:00.000Z')}`,
      `before=${cursorOf('2026-01-01T00:00:00Z')}`,
      `before=${cursorOf('2026-01-01T00:00:00.000Z', 'not-a-uuid')}`,
      'other=1',
    ];
    for (const url of [`/query/v1/group-chats/${id}/messages`, '/query/v1/group-chats']) {
      for (const query of queries) {
        const response = await get('alice', `${url}?${query}`);
        t.equal(response.status, 400, `${url}?${query}`);
      }
    }
    t.equal((await get('alice', `/query/v1/group-chats/${id}/messages?limit=200`, consistent(body.token))).status, 200);
    t.equal((await get('alice', `/query/v1/group-chats?limit=200&before=${cursorOf('9999-12-31T23:59:59.999Z')}`)).status, 200);
  });

  t.test('health', async (t) => {
    const shallow = await api.send(undefined, 'GET', '/query/healthcheck');
    t.match(shallow, { status: 200, payload: 'Query Running' });
    t.equal((await api.send(undefined, 'GET', '/query/healthcheck?deep=true')).status, 200);
  });
});
