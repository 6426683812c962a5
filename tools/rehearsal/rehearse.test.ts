import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import type { Test } from 'tap';
import { projectorEventSource } from '../../infra/lib/projector-source.ts';
import { buildBundle } from '../../scripts/build.ts';
import { javaMissing } from './dynamodb-local.ts';
import { startRehearsal } from './topology.ts';
import type { Rehearsal, RehearsalOptions } from './topology.ts';

/**
 * The local rehearsal (README.md, rehearsing the AWS topology locally): the README scenario driven
 * through the API Gateway stand-in into the command, query and projector bundles running as their
 * images run them, on DynamoDB Local with Streams and the event source mapping played by the
 * poller. No timing is asserted: every wait is for a condition, with a generous bound; the file's
 * time limit is the slow tier's (package.json), far above what a loaded machine takes.
 */
const skip = javaMissing() ?? (process.env.DATABASE_URL ? undefined : 'real Postgres: DATABASE_URL is not set');

/** The three bundles, built once for every rehearsal of this file. */
let built: Promise<string> | undefined;
function bundles(): Promise<string> {
  built ??= (async () => {
    const bundlesDir = await mkdtemp(join(tmpdir(), 'cqrs-rehearsal-bundles-'));
    t.teardown(() => rm(bundlesDir, { recursive: true, force: true }));
    await Promise.all((['command', 'query', 'projector'] as const).map((bundle) => buildBundle(bundle, bundlesDir)));
    return bundlesDir;
  })();
  return built;
}

async function rehearse(t: Test, options: Omit<RehearsalOptions, 'bundlesDir' | 'databaseUrl'> = {}): Promise<Rehearsal> {
  const rehearsal = await startRehearsal({ bundlesDir: await bundles(), databaseUrl: process.env.DATABASE_URL!, ...options });
  t.teardown(async () => {
    await rehearsal.stop();
    await rm(rehearsal.logDir, { recursive: true, force: true });
  });
  return rehearsal;
}

t.test('the README scenario on the rehearsed AWS topology', { skip: skip ?? false }, async (t) => {
  const rehearsal = await rehearse(t);
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

t.test('a projector down past the retries: the record is given up on, as in AWS, and the catch-up repairs the projection', { skip: skip ?? false }, async (t) => {
  // The retries are as many as the QueryStack's; only the waits between them are shortened.
  const rehearsal = await rehearse(t, { retryDelayCapMs: 50 });
  const token = await rehearsal.token('alice');
  const call = async (method: string, path: string, body?: object) => {
    const response = await fetch(`${rehearsal.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  };
  const created = await call('POST', '/command/v1/group-chats', { name: 'Outage' });
  const chat = created.json.groupChatId as string;
  await rehearsal.poller.drained(120_000);
  const { stats } = rehearsal.poller;
  const invocationsBefore = stats.failedInvocations;

  await rehearsal.projector.stop();
  const posted = await call('POST', `/command/v1/group-chats/${chat}/messages`, { text: 'written during the outage' });
  t.equal(posted.status, 201, 'the command side does not depend on the projector');
  for (const deadline = Date.now() + 120_000; stats.discarded.length === 0; await sleep(50)) {
    if (Date.now() > deadline) throw new Error('the poller never gave up on the record');
  }
  t.equal(stats.discarded.length, 1, 'the post went to the on-failure destination');
  t.equal(stats.failedInvocations - invocationsBefore, 1 + projectorEventSource.retryAttempts, 'after one attempt and as many retries as the event source mapping makes');

  await rehearsal.projector.start();
  await rehearsal.poller.drained(120_000);
  const lost = await call('GET', `/query/v1/group-chats/${chat}/messages`);
  t.same(lost.json.items, [], 'the projection is missing the post: no later record fills the gap');

  const repair = await rehearsal.projector.invoke(projectorEventSource.catchUpPayload);
  t.equal(repair.status, 200);
  t.match(repair.body, { streamsBehind: 1, eventsApplied: 1, failed: [] }, 'the catch-up found the stream behind the log and applied it');
  const repaired = await call('GET', `/query/v1/group-chats/${chat}/messages`);
  t.match(repaired.json.items, [{ messageId: posted.json.messageId, text: 'written during the outage' }], 'the post is in the projection');
  t.match((await rehearsal.projector.invoke(projectorEventSource.catchUpPayload)).body, { streamsBehind: 0, eventsApplied: 0, failed: [] }, 'run again: nothing left to do');
});
