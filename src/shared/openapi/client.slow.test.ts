import t from 'tap';
import { apiClient } from '../../testing/api-client.ts';
import { openTestDatabase } from '../../testing/databases.ts';
import { generateApiTypes } from '../../testing/generate-api-types.ts';
import { documentedServer } from '../../testing/served-document.ts';
import type { OpenApiDocument } from '../../testing/served-document.ts';
import { closeTestDynamoDb, freshEventStore } from '../../testing/stores.ts';

/**
 * A client generated from the served description works: `npm run typecheck` writes
 * openapi-typescript's types of it (src/testing/api-types.ts) and compiles the typed client built
 * on them, and here that client drives the service over a socket.
 */

t.teardown(closeTestDynamoDb);

let document: OpenApiDocument;
let url: string;
t.before(async () => {
  const { store } = await freshEventStore();
  const served = await documentedServer(store, await openTestDatabase(t, null), { listen: true });
  t.teardown(() => served.server.stop());
  document = served.document;
  url = served.server.info.uri.replace('0.0.0.0', '127.0.0.1');
});

t.test('openapi-typescript types every operation, its parameters and its errors', async (t) => {
  const types = await generateApiTypes(document);
  for (const [path, methods] of Object.entries(document.paths)) {
    t.match(types, `"${path}": {`, path);
    for (const { operationId } of Object.values(methods)) t.match(types, `${operationId}: {`, operationId);
  }
  t.match(types, /"Idempotency-Key"\?: string;/);
  t.match(types, /"X-Consistency-Token"\?: string;/);
  t.match(types, /Error: \{[^}]*message: string;[^}]*statusCode: number;/);
});

t.test('the typed client creates, posts, retries and reads', async (t) => {
  const alice = apiClient(url, 'alice');
  const created = await alice.POST('/command/v1/group-chats', { body: { name: 'Typed' } });
  t.equal(created.response.status, 201);
  const groupChatId = created.data!.groupChatId;
  t.equal(created.response.headers.get('etag'), `"${created.data!.version}"`);

  const post = () =>
    alice.POST('/command/v1/group-chats/{id}/messages', {
      params: { path: { id: groupChatId }, header: { 'Idempotency-Key': 'typed-1' } },
      body: { text: 'from a generated client' },
    });
  const posted = await post();
  t.same((await post()).data, posted.data, 'a retry answers the same');

  const page = await alice.GET('/query/v1/group-chats/{id}/messages', {
    params: { path: { id: groupChatId }, query: { limit: 10 }, header: { 'X-Consistency-Token': posted.data!.token } },
  });
  t.match(page.data?.items, [{ messageId: posted.data!.messageId, authorId: 'alice', text: 'from a generated client', editedAt: null }]);

  const renamed = await alice.POST('/command/v1/group-chats/{id}/rename', {
    params: { path: { id: groupChatId }, header: { 'If-Match': '"99"' } },
    body: { name: 'Stale' },
  });
  t.equal(renamed.response.status, 412);
  t.match(renamed.error, { statusCode: 412, error: 'Precondition Failed', message: /If-Match/ }, 'errors come typed as the Error schema');

  const stranger = await apiClient(url, 'mallory').GET('/query/v1/group-chats/{id}', { params: { path: { id: groupChatId } } });
  t.equal(stranger.error?.statusCode, 404);

  const health = await apiClient(url).GET('/query/healthcheck', { parseAs: 'text' });
  t.equal(health.data, 'Query Running', 'the health check needs no token and answers text');
});
