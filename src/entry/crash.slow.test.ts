import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import t from 'tap';
import type { Test } from 'tap';
import { issueToken } from '../shared/auth.ts';
import { callAs, listedMessages, startLocal } from '../testing/local-process.ts';
import type { Running } from '../testing/local-process.ts';

/**
 * `npm start` killed with SIGKILL in the middle of a load of posts (no drain, no flush, as a
 * crash or the OOM killer would): started again on the same data, every post it acknowledged is
 * in the read model exactly once, and it serves new ones. On the embedded stores, and on the
 * Postgres of DATABASE_URL when it is set.
 */
const secret = 'crash-test-secret-0123456789abcd';
// Each case names its stores: the servers started below get DATABASE_URL only when the case passes it.
const postgresUrl = process.env.DATABASE_URL;
delete process.env.DATABASE_URL;
const authorization = `Bearer ${issueToken('alice', secret)}`;

const call = (url: string, method: string, path: string, body?: object) => callAs(authorization, url, method, path, body);

async function crashUnderLoad(t: Test, env: Record<string, string>) {
  const dataDir = await mkdtemp(join(tmpdir(), 'cqrs-crash-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const first = await startLocal(dataDir, { JWT_SECRET: secret, ...env });
  const chat = (await call(first.url, 'POST', '/command/v1/group-chats', { name: 'Crash' })).json.groupChatId as string;

  // Eight clients post as fast as they are answered; the process is killed once 150 posts were acknowledged.
  const acknowledged: { id: string; token: string }[] = [];
  let killed = false;
  const client = async (n: number) => {
    for (let i = 0; !killed; i++) {
      const posted = await call(first.url, 'POST', `/command/v1/group-chats/${chat}/messages`, { text: `client ${n} post ${i}` }).catch(() => undefined);
      if (posted?.status === 201) acknowledged.push({ id: posted.json.messageId as string, token: posted.json.token as string });
      if (acknowledged.length >= 150 && !killed) {
        killed = true;
        first.child.kill('SIGKILL');
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, (_, n) => client(n)));
  t.equal(await first.exited, null, 'killed, not stopped');

  const second: Running = await startLocal(dataDir, { JWT_SECRET: secret, ...env });
  t.teardown(() => second.child.kill());
  // Each acknowledged post, read with its own consistency token: it answers once the read model has it.
  for (const { id, token } of acknowledged) {
    const response = await fetch(`${second.url}/query/v1/group-chats/${chat}/messages?limit=1`, { headers: { authorization, 'x-consistency-token': token } });
    if (response.status !== 200) t.fail(`post ${id}: ${response.status}`);
  }
  const seen = (await listedMessages(authorization, second.url, chat)) ?? new Map<string, number>();
  t.same(acknowledged.filter(({ id }) => !seen.has(id)).map(({ id }) => id), [], `all ${acknowledged.length} acknowledged posts are in the read model`);
  t.same([...seen].filter(([, count]) => count > 1), [], 'none twice');
  t.equal((await call(second.url, 'POST', `/command/v1/group-chats/${chat}/messages`, { text: 'after the crash' })).status, 201, 'and new posts work');
}

t.test('kill -9 under load on the embedded stores: nothing acknowledged is lost or doubled', (t) => crashUnderLoad(t, {}));

t.test(
  'kill -9 under load with the projections in Postgres: nothing acknowledged is lost or doubled',
  { skip: postgresUrl ? false : 'real Postgres: DATABASE_URL is not set' },
  async (t) => {
    const schema = `crash_${process.pid}`;
    t.teardown(async () => {
      const client = new pg.Client({ connectionString: postgresUrl });
      await client.connect();
      await client.query(`drop schema if exists ${schema} cascade`);
      await client.end();
    });
    await crashUnderLoad(t, { DATABASE_URL: postgresUrl!, DATABASE_SCHEMA: schema });
  },
);
