import t from 'tap';
import { issueToken } from '../shared/auth.ts';
import { appServer } from '../testing/app-server.ts';
import { testSecret } from '../testing/command-server.ts';
import { openTestDatabase } from '../testing/databases.ts';
import { capturedLogger } from '../testing/log-capture.ts';
import { closeTestDynamoDb, freshEventStore } from '../testing/stores.ts';

/**
 * docs/api.md, robustness: logs never contain credentials. Header credentials are redacted, and
 * the request line logs `req.url` with the values of credential-like query parameters redacted
 * too: a bearer token in the query (`access_token`, RFC 6750 §2.3) would otherwise be written
 * verbatim. It is not only a careless client: the `/documentation` page (hapi-swagger's
 * template) reads `?access_token=` from its own address and requests
 * `/openapi.json?access_token=<token>`, so opening the documentation that way logs the token
 * twice (the page now drops any query first). The API routes answer 401 to such a request, and
 * its line must still not carry the token.
 *
 * By hand: npm start; curl -s "localhost:3001/query/v1/group-chats?access_token=$(npm run -s token -- alice)"
 * → the "request completed" line has "url":"/query/v1/group-chats?access_token=[redacted]".
 */

t.teardown(closeTestDynamoDb);

t.test('a bearer token in the query string never reaches the log', async (t) => {
  const { store } = await freshEventStore();
  const { logger, lines } = capturedLogger('info');
  const api = await appServer(store, await openTestDatabase(t, null), { logger, documented: true });
  const token = issueToken('alice', testSecret);
  const signature = token.split('.')[2]!;

  for (const url of [`/query/v1/group-chats?access_token=${token}`, `/openapi.json?access_token=${token}`, `/documentation?access_token=${token}`]) {
    const response = await api.server.inject(url);
    t.ok(response.statusCode < 500, `${url.split('?')[0]} answers ${response.statusCode}`);
  }
  const written = lines();
  t.ok(written.some((line) => line.includes('"request completed"')), 'the requests were logged');
  t.same(
    written.filter((line) => line.includes(signature)).map((line) => line.slice(0, 300)),
    [],
    'no line carries the token',
  );
});
