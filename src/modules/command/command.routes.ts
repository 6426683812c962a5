import type { Request, ResponseToolkit, ServerRoute } from '@hapi/hapi';
import Joi from 'joi';
import { encodeConsistencyToken } from '../../contracts/consistency-token.ts';
import type { GroupChatEvent, MessageEvent } from '../../contracts/events.ts';
import { groupChatStream, messageStream } from '../../contracts/streams.ts';
import type { EventStore } from '../../eventstore/index.ts';
import { callerOf, userAuth } from '../../shared/auth.ts';
import { healthRoute } from '../../shared/health.ts';
import * as schema from './command.schemas.ts';
import type { GroupChatCommand } from './group-chat/group-chat.decider.ts';
import { decideGroupChat } from './group-chat/group-chat.decider.ts';
import { evolveGroupChat, initialGroupChatState } from './group-chat/group-chat.state.ts';
import type { GroupChatState } from './group-chat/group-chat.state.ts';
import type { CommandHandler, CommandMetadata, Handled } from './handle-command.ts';
import { requestHash, requestIds } from './idempotency.ts';
import type { RequestIds } from './idempotency.ts';
import type { MessageCommand } from './message/message.decider.ts';
import { decideMessage } from './message/message.decider.ts';
import { evolveMessage, initialMessageState } from './message/message.state.ts';
import type { MessageState } from './message/message.state.ts';

const groupChat = { initialState: initialGroupChatState, evolve: evolveGroupChat };
const message = { initialState: initialMessageState, evolve: evolveMessage };

export interface RouteDependencies {
  readonly handler: CommandHandler;
  readonly store: EventStore;
  readonly clock: () => Date;
  /** Told about each new commit once it is in the log; never awaited by the request. */
  readonly appended: (handled: Handled) => void;
}

type Params = Record<string, string>;

interface Started {
  readonly actorId: string;
  readonly ids: RequestIds;
  readonly metadata: CommandMetadata;
  readonly expectedVersion?: number;
}
type Body = Record<string, string>;

export function commandRoutes(deps: RouteDependencies): ServerRoute[] {
  /** Everything a command takes from its request: the caller, its ids, If-Match. */
  const start = (request: Request): Started => {
    const actorId = callerOf(request);
    const headers = request.headers as Record<string, string | undefined>;
    const ids = requestIds(actorId, headers['idempotency-key']);
    const ifMatch = headers['if-match'];
    return {
      actorId,
      ids,
      metadata: {
        commandId: ids.commandId,
        commandHash: requestHash(`${request.route.method} ${request.route.path}`, request.params, request.payload),
        actorId,
        now: deps.clock(),
      },
      ...(ifMatch === undefined ? {} : { expectedVersion: Number(ifMatch.slice(1, -1)) }),
    };
  };

  const onGroupChat = async (started: Started, groupChatId: string, command: GroupChatCommand) => {
    const handled = await deps.handler.handle<GroupChatState, GroupChatEvent, undefined>({
      streamId: groupChatStream(groupChatId),
      aggregate: groupChat,
      decide: (state) => decideGroupChat(command, state),
      metadata: started.metadata,
      ...(started.expectedVersion === undefined ? {} : { expectedVersion: started.expectedVersion }),
    });
    deps.appended(handled);
    return handled;
  };

  const onMessage = async (started: Started, messageId: string, command: MessageCommand) => {
    const handled = await deps.handler.handle<MessageState, MessageEvent, GroupChatState>({
      streamId: messageStream(messageId),
      aggregate: message,
      context: async () => (await deps.handler.load(groupChatStream(command.groupChatId), groupChat)).state,
      decide: (state, chat) => decideMessage(command, { message: state, chat }),
      metadata: started.metadata,
      ...(started.expectedVersion === undefined ? {} : { expectedVersion: started.expectedVersion }),
    });
    deps.appended(handled);
    return handled;
  };

  const reply = (h: ResponseToolkit, handled: Handled, extra: Record<string, string> = {}, status = 200) =>
    h
      .response({ ...extra, version: handled.version, token: encodeConsistencyToken(handled) })
      .code(status)
      .header('etag', `"${handled.version}"`);

  const chatParams = Joi.object({ id: schema.uuid.required() });
  const memberParams = Joi.object({ id: schema.uuid.required(), userId: schema.userId });
  const messageParams = Joi.object({ id: schema.uuid.required(), messageId: schema.uuid.required() });
  const auth = { strategy: userAuth };
  const tags = ['api', 'command'];

  return [
    healthRoute({
      path: '/command/v1/healthcheck',
      text: 'Command Server Working!',
      store: 'event store',
      check: () => deps.store.ping(),
      tags,
    }),
    {
      method: 'POST',
      path: '/command/v1/group-chats',
      options: {
        auth,
        tags,
        description: 'Create a group chat; the caller becomes its owner and an admin',
        validate: { headers: schema.createHeaders, payload: Joi.object({ name: schema.name }) },
        response: { status: { 201: schema.groupChatCreated } },
        handler: async (request, h) => {
          const started = start(request);
          const groupChatId = started.ids.newId('group-chat');
          const { name } = request.payload as Body;
          const handled = await onGroupChat(started, groupChatId, { type: 'CreateGroupChat', actorId: started.actorId, name: name! });
          return reply(h, handled, { groupChatId }, 201);
        },
      },
    },
    {
      method: 'POST',
      path: '/command/v1/group-chats/{id}/rename',
      options: {
        auth,
        tags,
        description: 'Rename a group chat (admins)',
        validate: { params: chatParams, headers: schema.updateHeaders, payload: Joi.object({ name: schema.name }) },
        response: { status: { 200: schema.accepted } },
        handler: async (request, h) => {
          const { id } = request.params as Params;
          const { name } = request.payload as Body;
          const started = start(request);
          return reply(h, await onGroupChat(started, id!, { type: 'RenameGroupChat', actorId: started.actorId, name: name! }));
        },
      },
    },
    {
      method: 'POST',
      path: '/command/v1/group-chats/{id}/members',
      options: {
        auth,
        tags,
        description: 'Add a member (admins)',
        validate: {
          params: chatParams,
          headers: schema.updateHeaders,
          payload: Joi.object({ userId: schema.userId, role: schema.role }),
        },
        response: { status: { 200: schema.accepted } },
        handler: async (request, h) => {
          const { id } = request.params as Params;
          const { userId, role } = request.payload as { userId: string; role: 'admin' | 'member' };
          const started = start(request);
          return reply(h, await onGroupChat(started, id!, { type: 'AddMember', actorId: started.actorId, userId, role }));
        },
      },
    },
    {
      method: 'PUT',
      path: '/command/v1/group-chats/{id}/members/{userId}',
      options: {
        auth,
        tags,
        description: "Change a member's role (admins)",
        validate: { params: memberParams, headers: schema.updateHeaders, payload: Joi.object({ role: schema.role }) },
        response: { status: { 200: schema.accepted } },
        handler: async (request, h) => {
          const { id, userId } = request.params as Params;
          const { role } = request.payload as { role: 'admin' | 'member' };
          const started = start(request);
          return reply(
            h,
            await onGroupChat(started, id!, { type: 'ChangeMemberRole', actorId: started.actorId, userId: userId!, role }),
          );
        },
      },
    },
    {
      method: 'DELETE',
      path: '/command/v1/group-chats/{id}/members/{userId}',
      options: {
        auth,
        tags,
        description: 'Remove a member (admins, or a member leaving)',
        validate: { params: memberParams, headers: schema.updateHeaders, payload: schema.noBody },
        response: { status: { 200: schema.accepted } },
        handler: async (request, h) => {
          const { id, userId } = request.params as Params;
          const started = start(request);
          return reply(h, await onGroupChat(started, id!, { type: 'RemoveMember', actorId: started.actorId, userId: userId! }));
        },
      },
    },
    {
      method: 'DELETE',
      path: '/command/v1/group-chats/{id}',
      options: {
        auth,
        tags,
        description: 'Delete a group chat (admins); every later command on it answers 410',
        validate: { params: chatParams, headers: schema.updateHeaders, payload: schema.noBody },
        response: { status: { 200: schema.accepted } },
        handler: async (request, h) => {
          const { id } = request.params as Params;
          const started = start(request);
          return reply(h, await onGroupChat(started, id!, { type: 'DeleteGroupChat', actorId: started.actorId }));
        },
      },
    },
    {
      method: 'POST',
      path: '/command/v1/group-chats/{id}/messages',
      options: {
        auth,
        tags,
        description: 'Post a message (members)',
        validate: { params: chatParams, headers: schema.createHeaders, payload: Joi.object({ text: schema.text }) },
        response: { status: { 201: schema.messagePosted } },
        handler: async (request, h) => {
          const { id } = request.params as Params;
          const { text } = request.payload as Body;
          const started = start(request);
          const messageId = started.ids.newId('message');
          const handled = await onMessage(started, messageId, {
            type: 'PostMessage',
            actorId: started.actorId,
            groupChatId: id!,
            text: text!,
          });
          return reply(h, handled, { messageId }, 201);
        },
      },
    },
    {
      method: 'PUT',
      path: '/command/v1/group-chats/{id}/messages/{messageId}',
      options: {
        auth,
        tags,
        description: 'Edit a message (its author)',
        validate: { params: messageParams, headers: schema.updateHeaders, payload: Joi.object({ text: schema.text }) },
        response: { status: { 200: schema.accepted } },
        handler: async (request, h) => {
          const { id, messageId } = request.params as Params;
          const { text } = request.payload as Body;
          const started = start(request);
          return reply(
            h,
            await onMessage(started, messageId!, { type: 'EditMessage', actorId: started.actorId, groupChatId: id!, text: text! }),
          );
        },
      },
    },
    {
      method: 'DELETE',
      path: '/command/v1/group-chats/{id}/messages/{messageId}',
      options: {
        auth,
        tags,
        description: 'Delete a message (its author or an admin)',
        validate: { params: messageParams, headers: schema.updateHeaders, payload: schema.noBody },
        response: { status: { 200: schema.accepted } },
        handler: async (request, h) => {
          const { id, messageId } = request.params as Params;
          const started = start(request);
          return reply(
            h,
            await onMessage(started, messageId!, { type: 'DeleteMessage', actorId: started.actorId, groupChatId: id! }),
          );
        },
      },
    },
  ];
}

