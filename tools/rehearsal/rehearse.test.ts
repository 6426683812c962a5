import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { buildBundle } from '../../scripts/build.ts';
import { javaMissing } from './dynamodb-local.ts';
import { startRehearsal } from './topology.ts';
import type { Rehearsal } from './topology.ts';

/**
 * The local rehearsal (README.md, rehearsing the AWS topology locally): the README scenario driven
 * through the API Gateway stand-in into the command, query and projector bundles running as their
 * images run them, on DynamoDB Local with Streams and the event source mapping played by the
 * poller. No timing is asserted: every wait is for a condition, with a generous bound; the file's
 * time limit is the slow tier's (package.json), far above what a loaded machine takes.
 */
const skip = javaMissing() ?? (process.env.DATABASE_URL ? undefined : 'real Postgres: DATABASE_URL is not set');

t.test('the README scenario on the rehearsed AWS topology', { skip: skip ?? false }, async (t) => {
  const bundlesDir = await mkdtemp(join(tmpdir(), 'cqrs-rehearsal-bundles-'));
  t.teardown(() => rm(bundlesDir, { recursive: true, force: true }));
  await Promise.all((['command', 'query', 'projector'] as const).map((bundle) => buildBundle(bundle, bundlesDir)));
  const rehearsal: Rehearsal = await startRehearsal({ bundlesDir, databaseUrl: process.env.DATABASE_URL! });
  t.teardown(async () => {
    await rehearsal.stop();
    await rm(rehearsal.logDir, { recursive: true, force: true });
  });
  t.match(rehearsal.dynamoDbLocal.version, /^3\./, 'DynamoDB Local 3.x');

  const tokens = { alice: await rehearsal.token('alice'), bob: await rehearsal.token('bob') };
  const call = async (user: 'alice' | 'bob', method: string, path: string, body?: object, headers: Record<string, string> = {}) => {
    const response = await fetch(`${rehearsal.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${tokens[user]}`, ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // health answers text
    }
    return { status: response.status, json, text };
  };
  const consistent = (token: unknown) => ({ 'x-consistency-token': String(token) });

  t.equal((await call('alice', 'GET', '/command/v1/healthcheck')).text, 'Command Server Working!', 'the command function behind /Stage');
  t.equal((await call('alice', 'GET', '/query/healthcheck')).text, 'Query Running', 'the query function behind /Stage');
  t.equal((await call('alice', 'GET', '/events')).status, 404, 'nothing routes to the projector');
  t.equal((await call('alice', 'POST', '/query/v1/../../events', { Records: [] })).status, 404, 'not with dot segments either');

  // create, rename, add bob, promote and demote him
  const created = await call('alice', 'POST', '/command/v1/group-chats', { name: 'Weekend trip' });
  t.equal(created.status, 201);
  const chat = created.json.groupChatId as string;
  t.equal((await call('alice', 'POST', `/command/v1/group-chats/${chat}/rename`, { name: 'Trip to the lake' })).status, 200);
  t.equal((await call('alice', 'POST', `/command/v1/group-chats/${chat}/members`, { userId: 'bob', role: 'member' })).status, 200);
  t.equal((await call('alice', 'PUT', `/command/v1/group-chats/${chat}/members/bob`, { role: 'admin' })).status, 200);
  const demoted = await call('alice', 'PUT', `/command/v1/group-chats/${chat}/members/bob`, { role: 'member' });
  t.equal(demoted.status, 200);
  const seen = await call('bob', 'GET', `/query/v1/group-chats/${chat}`, undefined, consistent(demoted.json.token));
  t.equal(seen.status, 200);
  t.match(seen.json, { groupChatId: chat, name: 'Trip to the lake', ownerId: 'alice', members: [{ userId: 'alice', role: 'admin' }, { userId: 'bob', role: 'member' }] });

  // bob posts, edits; alice deletes the message (MessageDeleted{} — an empty map on the stream)
  const posted = await call('bob', 'POST', `/command/v1/group-chats/${chat}/messages`, { text: 'Who brings the tent?' });
  t.equal(posted.status, 201);
  const message = posted.json.messageId as string;
  const edited = await call('bob', 'PUT', `/command/v1/group-chats/${chat}/messages/${message}`, { text: 'Who brings the big tent?' });
  t.equal(edited.status, 200);
  const listed = await call('alice', 'GET', `/query/v1/group-chats/${chat}/messages`, undefined, consistent(edited.json.token));
  t.match(listed.json, { items: [{ messageId: message, authorId: 'bob', text: 'Who brings the big tent?' }] });
  const deletedMessage = await call('alice', 'DELETE', `/command/v1/group-chats/${chat}/messages/${message}`);
  t.equal(deletedMessage.status, 200);
  t.same((await call('alice', 'GET', `/query/v1/group-chats/${chat}/messages`, undefined, consistent(deletedMessage.json.token))).json.items, []);

  // bob leaves; a second chat keeps a message
  const left = await call('bob', 'DELETE', `/command/v1/group-chats/${chat}/members/bob`);
  t.equal(left.status, 200);
  t.equal((await call('bob', 'GET', `/query/v1/group-chats/${chat}`, undefined, consistent(left.json.token))).status, 404, 'bob no longer sees the chat');
  const club = await call('alice', 'POST', '/command/v1/group-chats', { name: 'Book club' });
  const chapter = await call('alice', 'POST', `/command/v1/group-chats/${club.json.groupChatId as string}/messages`, { text: 'Chapter 3 tonight' });
  t.equal(chapter.status, 201);

  // delete the first chat (GroupChatDeleted{} — an empty map on the stream)
  const deleted = await call('alice', 'DELETE', `/command/v1/group-chats/${chat}`);
  t.equal(deleted.status, 200);
  t.equal((await call('alice', 'POST', `/command/v1/group-chats/${chat}/rename`, { name: 'again' })).status, 410);

  // Everything the log holds reaches the projection through the stream alone.
  await rehearsal.poller.drained(120_000);
  const { stats } = rehearsal.poller;
  t.equal(stats.failedRecords, 0, 'the projector reported no failed record');
  t.equal(stats.failedInvocations, 0, 'and failed no invocation');
  t.same(stats.discarded, [], 'nothing went to the on-failure destination');
  // 7 commits on the first chat, 3 on its message, 1 on the club and 1 on its message
  t.equal(stats.records, 12, `every commit was delivered once (${stats.records} records in ${stats.invocations} invocations)`);
  t.ok(stats.bareEmptyMaps >= 2, `DynamoDB Local's {} empty maps were among them (${stats.bareEmptyMaps})`);
  const mine = await call('alice', 'GET', '/query/v1/group-chats');
  t.equal(mine.status, 200);
  // The list is an array or a page {items, nextCursor}, depending on the API version.
  const chats = (Array.isArray(mine.json) ? mine.json : mine.json.items) as unknown[];
  t.match(chats, [{ groupChatId: club.json.groupChatId, name: 'Book club', role: 'admin', memberCount: 1 }], 'projected without a consistency token');
  t.equal(chats.length, 1, 'the deleted chat is gone from the projection');
  const clubMessages = await call('alice', 'GET', `/query/v1/group-chats/${club.json.groupChatId as string}/messages`);
  t.match(clubMessages.json, { items: [{ text: 'Chapter 3 tonight' }] });
});
