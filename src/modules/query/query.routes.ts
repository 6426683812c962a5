import Boom from '@hapi/boom';
import type { Request, ServerRoute } from '@hapi/hapi';
import Joi from 'joi';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { decodeConsistencyToken } from '../../contracts/consistency-token.ts';
import { callerOf, userAuth } from '../../shared/auth.ts';
import { healthRoute } from '../../shared/health.ts';
import type { Database } from './database.ts';
import { findGroupChat, isMember, listGroupChats } from './group-chats/group-chats.queries.ts';
import { decodeCursor } from './messages/message-cursor.ts';
import { listMessages } from './messages/messages.queries.ts';
import { reachPosition } from './projection/consistency.ts';
import type { Projector } from './projection/projector.ts';

export interface QueryRouteDependencies {
  readonly db: Kysely<Database>;
  readonly projector: Projector;
  readonly consistencyTimeoutMs: number;
}

const uuid = Joi.string().guid().lowercase();
const timestamp = Joi.string().isoDate();
const role = Joi.string().valid('admin', 'member');

const headers = Joi.object({
  'x-consistency-token': Joi.string()
    .max(200)
    .custom((value: string, helpers) => (decodeConsistencyToken(value) ? value : helpers.error('token.invalid')))
    .messages({ 'token.invalid': '{{#label}} is not a token this service issued' })
    .description('A command\'s token: answer only once that write is visible (504 after the deadline)'),
}).unknown(true);

const groupChatSummary = Joi.object({
  groupChatId: uuid.required(),
  name: Joi.string().required(),
  role: role.required(),
  memberCount: Joi.number().integer().min(0).required(),
  lastMessageAt: timestamp.allow(null).required(),
  version: Joi.number().integer().required(),
}).label('GroupChatSummary');

const groupChatDetails = Joi.object({
  groupChatId: uuid.required(),
  name: Joi.string().required(),
  ownerId: Joi.string().required(),
  members: Joi.array()
    .items(Joi.object({ userId: Joi.string().required(), role: role.required(), joinedAt: timestamp.required() }).label('Member'))
    .required(),
  createdAt: timestamp.required(),
  updatedAt: timestamp.required(),
  version: Joi.number().integer().required(),
}).label('GroupChat');

const messagePage = Joi.object({
  items: Joi.array()
    .items(
      Joi.object({
        messageId: uuid.required(),
        authorId: Joi.string().required(),
        text: Joi.string().required(),
        postedAt: timestamp.required(),
        editedAt: timestamp.allow(null).required(),
      }).label('Message'),
    )
    .required(),
  nextCursor: Joi.string().allow(null).required(),
}).label('MessagePage');

export function queryRoutes(deps: QueryRouteDependencies): ServerRoute[] {
  /** Honours X-Consistency-Token before the query reads (SPEC §5). */
  const consistent = async (request: Request) => {
    const token = request.headers['x-consistency-token'];
    if (typeof token !== 'string') return;
    const target = decodeConsistencyToken(token)!;
    if (!(await reachPosition(deps.projector, target, deps.consistencyTimeoutMs))) {
      throw Boom.gatewayTimeout('the write named by X-Consistency-Token is not visible yet; retry');
    }
  };
  const notFound = () => Boom.notFound('group chat not found');
  const auth = { strategy: userAuth };
  const tags = ['api', 'query'];

  return [
    healthRoute({
      path: '/query/healthcheck',
      text: 'Query Running',
      store: 'projection database',
      check: () => sql`select 1`.execute(deps.db),
      tags,
    }),
    {
      method: 'GET',
      path: '/query/v1/group-chats',
      options: {
        auth,
        tags,
        description: 'The chats the caller belongs to, newest activity first',
        validate: { headers },
        response: { status: { 200: Joi.array().items(groupChatSummary).label('GroupChatList') } },
        handler: async (request) => {
          await consistent(request);
          return listGroupChats(deps.db, callerOf(request));
        },
      },
    },
    {
      method: 'GET',
      path: '/query/v1/group-chats/{id}',
      options: {
        auth,
        tags,
        description: 'One chat with its members (members only)',
        validate: { headers, params: Joi.object({ id: uuid.required() }) },
        response: { status: { 200: groupChatDetails } },
        handler: async (request) => {
          await consistent(request);
          return (await findGroupChat(deps.db, request.params.id as string, callerOf(request))) ?? notFound();
        },
      },
    },
    {
      method: 'GET',
      path: '/query/v1/group-chats/{id}/messages',
      options: {
        auth,
        tags,
        description: 'Messages of a chat, newest first (members only)',
        validate: {
          headers,
          params: Joi.object({ id: uuid.required() }),
          query: Joi.object({
            limit: Joi.number().integer().min(1).max(200).default(50),
            before: Joi.string()
              .custom((value: string, helpers) => decodeCursor(value) ?? helpers.error('cursor.invalid'))
              .messages({ 'cursor.invalid': '{{#label}} is not a cursor this service issued' })
              .description('nextCursor of the previous page'),
          }),
        },
        response: { status: { 200: messagePage } },
        handler: async (request) => {
          await consistent(request);
          const groupChatId = request.params.id as string;
          if (!(await isMember(deps.db, groupChatId, callerOf(request)))) return notFound();
          const { limit, before } = request.query as { limit: number; before?: ReturnType<typeof decodeCursor> };
          return listMessages(deps.db, groupChatId, { limit, ...(before ? { before } : {}) });
        },
      },
    },
  ];
}
