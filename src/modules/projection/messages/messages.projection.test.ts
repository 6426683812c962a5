import t from 'tap';
import type { MessageEvent } from '../../../contracts/events.ts';
import type { Commit } from '../../../eventstore/index.ts';
import { projectMessage } from './messages.projection.ts';
import type { MessageRow } from './messages.projection.ts';

const messageId = '01a22000-0000-7000-8000-000000000002';
const chatId = '01a22000-0000-7000-8000-000000000001';
const streamId = `Message-${messageId}`;
const at = (minute: number) => new Date(Date.UTC(2026, 10, 28, 12, minute));

const commit = (version: number, minute: number, ...events: readonly MessageEvent[]): Commit => ({
  streamId,
  version,
  commandId: `c${version}`,
  actorId: 'bob',
  occurredAt: at(minute).toISOString(),
  events: events as Commit['events'],
});
const given = (...commits: readonly Commit[]) => commits.reduce<MessageRow | undefined>((row, each) => projectMessage(row, messageId, each), undefined);

const posted = commit(1, 0, { type: 'MessagePosted', data: { groupChatId: chatId, authorId: 'bob', text: 'hello' } });

t.test('MessagePosted makes the row, posted at the commit’s time, not edited', async (t) => {
  t.same(given(posted), { message_id: messageId, group_chat_id: chatId, author_id: 'bob', text: 'hello', posted_at: at(0), edited_at: null });
});

t.test('MessageEdited changes the text and says when, nothing else', async (t) => {
  t.same(given(posted, commit(2, 4, { type: 'MessageEdited', data: { text: 'hello, world' } })), {
    message_id: messageId,
    group_chat_id: chatId,
    author_id: 'bob',
    text: 'hello, world',
    posted_at: at(0),
    edited_at: at(4),
  });
});

t.test('MessageDeleted leaves no row', async (t) => {
  t.equal(given(posted, commit(2, 4, { type: 'MessageDeleted', data: {} })), undefined);
});

t.test('an edit of a message with no row makes none', async (t) => {
  t.equal(given(commit(1, 1, { type: 'MessageEdited', data: { text: 'orphan' } })), undefined);
  t.equal(given(posted, commit(2, 2, { type: 'MessageDeleted', data: {} }), commit(3, 3, { type: 'MessageEdited', data: { text: 'too late' } })), undefined);
});

t.test('the fold is pure: the row it was given stays as it was', async (t) => {
  const before = given(posted)!;
  const copy = { ...before };
  projectMessage(before, messageId, commit(2, 4, { type: 'MessageEdited', data: { text: 'changed' } }));
  t.same(before, copy);
});

t.test('an event type this reader does not know fails the commit, naming it', async (t) => {
  const unknown = { ...commit(2, 1), events: [{ type: 'MessagePinned', data: {} }] };
  t.throws(() => projectMessage(given(posted), messageId, unknown), { name: 'UnknownEventTypeError', message: `${streamId} version 2 has an event of unknown type "MessagePinned"` });
});
