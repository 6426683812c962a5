import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { issueToken } from '../shared/auth.ts';
import { commandServer, testSecret } from '../testing/command-server.ts';
import { closeTestDynamoDb, freshEventStore } from '../testing/stores.ts';

/**
 * Over a real socket, `DELETE …/members/..` reaches hapi as written; its URL parser would resolve
 * the dot segment and route it to `DELETE /group-chats/{id}`, deleting the chat. It is a 400.
 */

t.teardown(closeTestDynamoDb);

t.test('a raw request with a .. segment is refused and reaches no other route', async (t) => {
  const { store } = await freshEventStore();
  const api = await commandServer(store);
  const alice = api.as('alice');
  const { id } = await alice.createChat('Kept');
  await api.server.start();
  t.teardown(() => api.server.stop());
  const port = (api.server.listener.address() as AddressInfo).port;
  for (const path of [`/command/v1/group-chats/${id}/members/..`, `/command/v1/group-chats/${id}/members/.`, `/command/v1/group-chats/${id}/members/%2E%2e`]) {
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () =>
        socket.write(`DELETE ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${issueToken('alice', testSecret)}\r\nConnection: close\r\n\r\n`),
      );
      let bytes = '';
      socket.on('data', (data) => (bytes += data));
      socket.on('error', reject);
      socket.on('close', () => resolve(bytes));
    });
    t.match(answer.split('\r\n')[0], /^HTTP\/1\.1 400 /, `${path} → 400`);
  }
  t.equal((await alice.rename(id, 'Still here')).status, 200, 'the chat was not deleted');
});
