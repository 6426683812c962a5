import t from 'tap';
import type { GroupChatEvent } from '../../../contracts/events.ts';
import type { Commit } from '../../../eventstore/index.ts';
import { UnknownEventTypeError } from '../projection-errors.ts';
import { noGroupChatRows, projectGroupChat } from './group-chats.projection.ts';
import type { GroupChatRows } from './group-chats.projection.ts';

const chatId = '01a22000-0000-7000-8000-000000000001';
const streamId = `GroupChat-${chatId}`;
const at = (minute: number) => new Date(Date.UTC(2026, 10, 28, 12, minute));

const commit = (version: number, minute: number, ...events: readonly GroupChatEvent[]): Commit => ({
  streamId,
  version,
  commandId: `c${version}`,
  actorId: 'alice',
  occurredAt: at(minute).toISOString(),
  events: events as Commit['events'],
});

/** Given past commits, when one more, then these rows. */
const given = (...commits: readonly Commit[]) => commits.reduce((rows, each) => projectGroupChat(rows, chatId, each), noGroupChatRows);
const members = (rows: GroupChatRows) => [...rows.members.entries()].map(([userId, row]) => [userId, row.role, row.joined_at.valueOf()]);

const created = commit(1, 0, { type: 'GroupChatCreated', data: { name: 'Team', ownerId: 'alice' } }, { type: 'MemberAdded', data: { userId: 'alice', role: 'admin' } });

t.test('GroupChatCreated makes the chat row, at the commit’s time and version', async (t) => {
  const rows = given(created);
  t.same(rows.chat, { group_chat_id: chatId, name: 'Team', owner_id: 'alice', created_at: at(0), updated_at: at(0), version: 1, deleted: false });
  t.same(members(rows), [['alice', 'admin', at(0).valueOf()]]);
});

t.test('GroupChatRenamed changes the name only, and moves version and updated_at', async (t) => {
  const rows = given(created, commit(2, 5, { type: 'GroupChatRenamed', data: { name: 'Core team' } }));
  t.same(rows.chat, { group_chat_id: chatId, name: 'Core team', owner_id: 'alice', created_at: at(0), updated_at: at(5), version: 2, deleted: false });
  t.same(members(rows), [['alice', 'admin', at(0).valueOf()]], 'members untouched');
});

t.test('MemberAdded', async (t) => {
  t.test('a new member joins at the commit’s time', async (t) => {
    const rows = given(created, commit(2, 3, { type: 'MemberAdded', data: { userId: 'bob', role: 'member' } }));
    t.same(members(rows), [
      ['alice', 'admin', at(0).valueOf()],
      ['bob', 'member', at(3).valueOf()],
    ]);
    t.same(rows.members.get('bob'), { group_chat_id: chatId, user_id: 'bob', role: 'member', joined_at: at(3) });
  });
  t.test('a member added again keeps when it joined and takes the new role', async (t) => {
    const rows = given(created, commit(2, 3, { type: 'MemberAdded', data: { userId: 'bob', role: 'member' } }), commit(3, 4, { type: 'MemberAdded', data: { userId: 'bob', role: 'admin' } }));
    t.same(rows.members.get('bob'), { group_chat_id: chatId, user_id: 'bob', role: 'admin', joined_at: at(3) });
  });
  t.test('user ids are data: __proto__ and constructor are members like any other', async (t) => {
    const rows = given(created, commit(2, 3, { type: 'MemberAdded', data: { userId: '__proto__', role: 'member' } }, { type: 'MemberAdded', data: { userId: 'constructor', role: 'admin' } }));
    t.same(members(rows), [
      ['alice', 'admin', at(0).valueOf()],
      ['__proto__', 'member', at(3).valueOf()],
      ['constructor', 'admin', at(3).valueOf()],
    ]);
  });
});

t.test('MemberRoleChanged', async (t) => {
  const withBob = [created, commit(2, 3, { type: 'MemberAdded', data: { userId: 'bob', role: 'member' } })] as const;
  t.test('changes the role of a member, nothing else', async (t) => {
    const rows = given(...withBob, commit(3, 6, { type: 'MemberRoleChanged', data: { userId: 'bob', role: 'admin' } }));
    t.same(rows.members.get('bob'), { group_chat_id: chatId, user_id: 'bob', role: 'admin', joined_at: at(3) });
    t.same(rows.members.get('alice')?.role, 'admin');
  });
  t.test('of someone who is not a member adds no one', async (t) => {
    const rows = given(...withBob, commit(3, 6, { type: 'MemberRoleChanged', data: { userId: 'carol', role: 'admin' } }));
    t.same(members(rows), [
      ['alice', 'admin', at(0).valueOf()],
      ['bob', 'member', at(3).valueOf()],
    ]);
    t.equal(rows.chat?.version, 3, 'the chat still moves to the commit’s version');
  });
});

t.test('MemberRemoved removes that member only', async (t) => {
  const rows = given(
    created,
    commit(2, 3, { type: 'MemberAdded', data: { userId: 'bob', role: 'member' } }, { type: 'MemberAdded', data: { userId: 'carol', role: 'member' } }),
    commit(3, 4, { type: 'MemberRemoved', data: { userId: 'bob' } }),
  );
  t.same(members(rows), [
    ['alice', 'admin', at(0).valueOf()],
    ['carol', 'member', at(3).valueOf()],
  ]);
});

t.test('GroupChatDeleted marks the chat deleted and keeps its rows', async (t) => {
  const rows = given(created, commit(2, 9, { type: 'GroupChatDeleted', data: {} }));
  t.same(rows.chat, { group_chat_id: chatId, name: 'Team', owner_id: 'alice', created_at: at(0), updated_at: at(9), version: 2, deleted: true });
  t.same(members(rows), [['alice', 'admin', at(0).valueOf()]]);
});

t.test('events before the chat exists make no chat row', async (t) => {
  const rows = given(commit(1, 1, { type: 'GroupChatRenamed', data: { name: 'x' } }, { type: 'GroupChatDeleted', data: {} }));
  t.equal(rows.chat, undefined);
  t.same(members(rows), []);
});

t.test('several events of one commit apply in order', async (t) => {
  const rows = given(
    created,
    commit(2, 7, { type: 'MemberAdded', data: { userId: 'bob', role: 'member' } }, { type: 'MemberRoleChanged', data: { userId: 'bob', role: 'admin' } }, { type: 'MemberRemoved', data: { userId: 'alice' } }, { type: 'GroupChatRenamed', data: { name: 'Bob’s' } }),
  );
  t.same(members(rows), [['bob', 'admin', at(7).valueOf()]]);
  t.match(rows.chat, { name: 'Bob’s', version: 2, updated_at: at(7) });
});

t.test('the fold is pure: the rows it was given stay as they were', async (t) => {
  const before = given(created);
  const copy = { chat: { ...before.chat }, members: members(before) };
  given(created, commit(2, 3, { type: 'MemberRemoved', data: { userId: 'alice' } }, { type: 'GroupChatRenamed', data: { name: 'Changed' } }));
  projectGroupChat(before, chatId, commit(2, 3, { type: 'MemberRemoved', data: { userId: 'alice' } }, { type: 'GroupChatRenamed', data: { name: 'Changed' } }));
  t.same({ chat: before.chat, members: members(before) }, copy);
});

t.test('an event type this reader does not know fails the commit, naming it', async (t) => {
  const unknown = { ...commit(2, 1), events: [{ type: 'GroupChatArchived', data: {} }] };
  t.throws(() => projectGroupChat(given(created), chatId, unknown), new UnknownEventTypeError(streamId, 2, 'GroupChatArchived'));
  t.throws(() => projectGroupChat(given(created), chatId, unknown), { name: 'UnknownEventTypeError', message: `${streamId} version 2 has an event of unknown type "GroupChatArchived"` });
  const long = { ...unknown, events: [{ type: 'x'.repeat(100), data: {} }] };
  t.throws(() => projectGroupChat(noGroupChatRows, chatId, long), { message: `${streamId} version 2 has an event of unknown type "${'x'.repeat(64)}"` }, 'a type from the log is cut');
});

t.test('a chat with no commit yet has no rows', async (t) => {
  t.equal(noGroupChatRows.chat, undefined);
  t.equal(noGroupChatRows.members.size, 0);
});
