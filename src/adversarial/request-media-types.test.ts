import t from 'tap';
import { checkedClient, contractOf } from '../testing/openapi-contract.ts';
import type { Exchange } from '../testing/openapi-contract.ts';
import { openTestDatabase } from '../testing/databases.ts';
import { documentedServer } from '../testing/served-document.ts';
import { closeTestDynamoDb, freshEventStore } from '../testing/stores.ts';

/**
 * The description says every command body is `application/json` and that 415 is the answer to
 * "a body that is not JSON". hapi's default would also parse `application/x-www-form-urlencoded`
 * and `text/plain` (a form body accepted as a command, a text one a 400): the server allows
 * JSON only (src/shared/http-server.ts). The contract test holds answers, not requests; this
 * one holds the requests the description refuses.
 *
 * Reproduce:
 *   curl -s -X POST localhost:3001/command/v1/group-chats -H "$ALICE" \
 *     -H 'content-type: application/x-www-form-urlencoded' -d 'name=form'   → 201
 */

t.teardown(closeTestDynamoDb);

t.test('a command body that is not JSON answers 415, as the description says', async (t) => {
  const { store } = await freshEventStore();
  const { server, document } = await documentedServer(store, await openTestDatabase(t, null));
  const contract = await contractOf(document);
  const send = checkedClient(server, contract, (problems: string[], exchange: Exchange) => t.same(problems, [], `${exchange.method} ${exchange.url} → ${exchange.status} is as documented`));

  const create = document.paths['/command/v1/group-chats']!.post! as { requestBody: { content: Record<string, unknown> } };
  t.same(Object.keys(create.requestBody.content), ['application/json'], 'the description accepts JSON only');

  const form = await send('POST', '/command/v1/group-chats', { user: 'alice', payload: 'name=form', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  t.equal(form.status, 415, 'a form body is not JSON');
  const text = await send('POST', '/command/v1/group-chats', { user: 'alice', payload: '{"name":"text"}', headers: { 'content-type': 'text/plain' } });
  t.equal(text.status, 415, 'nor is a text/plain body (not a 400 about its shape)');
});
