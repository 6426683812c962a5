import Joi from 'joi';
import type { Schema } from 'joi';
import { role, uuid } from '../../shared/id-schemas.ts';
import { decodeConsistencyToken } from '../../contracts/consistency-token.ts';
import { decodePageCursor } from './page-cursor.ts';
import type { PageCursor } from './page-cursor.ts';
import { shownFields, tables } from '../projection/index.ts';
import type { ColumnKind, ViewOf } from '../projection/index.ts';
import type { GroupChatDetails, GroupChatPage, GroupChatSummary } from './group-chats/group-chats.queries.ts';
import type { MessagePage } from './messages/messages.queries.ts';

/**
 * joi schemas of the query API: its input (headers, paths, paging) and its answers, which also feed
 * the OpenAPI description. What a view shows of a table comes from the table's declaration
 * (`viewFields`: each shown column's schema from its kind); the fields a query adds are checked
 * against the view it returns (`fieldsOf<View>()`): a field of the view that the schema lacks, or
 * one the view lacks, does not compile. The routes (query.routes.ts) import this module on first use, so a cold
 * start evaluates joi only when a query arrives.
 */

/**
 * The fields of an answer's schema, checked against the view its query returns: exactly the view's
 * fields, no more, no fewer (joi's own strict typing does not take array fields).
 */
const fieldsOf =
  <View>() =>
  <Fields extends { [Name in keyof View]-?: Schema }>(fields: Fields & { [Extra in Exclude<keyof Fields, keyof View>]: never }): Fields =>
    fields;

const timestamp = Joi.string().isoDate();

/** The schema of each kind of column as a view shows it (a new kind does not compile until it has one). */
const kindSchemas: Record<ColumnKind, () => Schema> = {
  uuid: () => uuid,
  text: () => Joi.string(),
  timestamp: () => timestamp,
  integer: () => Joi.number().integer(),
  flag: () => Joi.boolean(),
  role: () => role,
};

/** The fields a view of `table` shows, each with the schema of its column's kind (`tables`, `shownAs`). */
function viewFields<T extends (typeof tables)[keyof typeof tables]>(table: T): { [Field in keyof ViewOf<T>]-?: Schema } {
  const fields: Record<string, Schema> = {};
  for (const { field, kind, nullable } of shownFields(table)) {
    const schema = kindSchemas[kind]();
    fields[field] = (nullable ? schema.allow(null) : schema).required();
  }
  return fields as { [Field in keyof ViewOf<T>]-?: Schema };
}

export const headers = Joi.object({
  'x-consistency-token': Joi.string()
    .max(200)
    // Decoded here, once: the validated header is the stream position it names.
    .custom((value: string, helpers) => decodeConsistencyToken(value) ?? helpers.error('token.invalid'))
    .messages({ 'token.invalid': '{{#label}} is not a token this service issued' })
    .description('A command\'s token: answer only once that write is visible (504 after the deadline)'),
}).unknown(true);

const groupChatSummary = Joi.object(fieldsOf<GroupChatSummary>()({
  ...viewFields(tables.group_chats),
  role: role.required().description("The caller's role in the chat"),
  memberCount: Joi.number().integer().min(0).required(),
  lastMessageAt: timestamp.allow(null).required(),
})).label('GroupChatSummary');

export const groupChatPage = Joi.object(fieldsOf<GroupChatPage>()({
  items: Joi.array().items(groupChatSummary).required(),
  nextCursor: Joi.string().allow(null).required(),
})).label('GroupChatPage');

/** `?limit=&before=` of the paged lists: 1–200 items, a cursor this service issued. */
export const pageQuery = Joi.object<{ limit: number; before?: PageCursor }>({
  limit: Joi.number().integer().min(1).max(200).default(50),
  before: Joi.string()
    .custom((value: string, helpers) => decodePageCursor(value) ?? helpers.error('cursor.invalid'))
    .messages({ 'cursor.invalid': '{{#label}} is not a cursor this service issued' })
    .description('nextCursor of the previous page'),
});

export const groupChatDetails = Joi.object(fieldsOf<GroupChatDetails>()({
  ...viewFields(tables.group_chats),
  members: Joi.array().items(Joi.object(viewFields(tables.members)).label('Member')).required(),
})).label('GroupChat');

export const messagePage = Joi.object(fieldsOf<MessagePage>()({
  items: Joi.array().items(Joi.object(viewFields(tables.messages)).label('Message')).required(),
  nextCursor: Joi.string().allow(null).required(),
})).label('MessagePage');

export const chatParams = Joi.object<{ id: string }>({ id: uuid.required() });
