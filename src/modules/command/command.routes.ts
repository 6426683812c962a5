import type { Request, ResponseObject, ResponseToolkit, ServerRoute } from '@hapi/hapi';
import Joi from 'joi';
import { encodeConsistencyToken } from '../../contracts/consistency-token.ts';
import type { GroupChatEvent, MessageEvent, Role } from '../../contracts/events.ts';
import { groupChatStream, messageStream } from '../../contracts/streams.ts';
import type { EventStore } from '../../eventstore/index.ts';
import { callerOf, userAuth } from '../../shared/auth.ts';
import { healthRoute } from '../../shared/health.ts';
import { documented, etag } from '../../shared/openapi/responses.ts';
import type { ErrorStatus } from '../../shared/openapi/responses.ts';
import { toBoom } from './command-errors.ts';
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
        ...(ids.idempotencyKey === undefined ? {} : { idempotencyKey: ids.idempotencyKey }),
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

  /**
   * Runs a command; a refusal or a store failure becomes its HTTP answer right here
   * (command-errors.ts), so nothing travels through a 500 and back. Anything else is a defect.
   */
  const answer = async (request: Request, work: () => Promise<ResponseObject>): Promise<ResponseObject> => {
    try {
      return await work();
    } catch (error) {
      const boom = toBoom(error);
      if (!boom) throw error;
      // A store failure is worth a line in the log; a refused command is not.
      if (boom.output.statusCode === 503) request.log(['warn', 'command'], error as Error);
      throw boom;
    }
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
  /** What any command can answer: bad input, no token, a body too big or not JSON, a reused key, a store down. */
  const always = [400, 401, 413, 415, 422, 503] as const;
  /** ...and one on an existing chat or message: not found / not yours, deleted, stale If-Match. */
  const onExisting = [...always, 404, 410, 412] as const;
  const created = (what: string) => ({ 201: { description: `Created: the new ${what}'s id, its version and a consistency token`, headers: { ETag: etag } } });

  /** A command on an existing chat or message: 200 `{version, token}`, If-Match honoured. */
  const update = (
    method: 'POST' | 'PUT' | 'DELETE',
    path: string,
    description: string,
    validate: { params: Joi.ObjectSchema; payload: Joi.Schema },
    refusals: readonly ErrorStatus[],
    run: (started: Started, params: Params, body: Body) => Promise<Handled>,
  ): ServerRoute => ({
    method,
    path,
    options: {
      auth,
      tags,
      description,
      validate: { params: validate.params, headers: schema.updateHeaders, payload: validate.payload },
      response: { status: { 200: schema.accepted } },
      plugins: documented({
        success: { 200: { description: 'Done: the stream\'s new version and a consistency token', headers: { ETag: etag } } },
        errors: [...onExisting, ...refusals],
      }),
      handler: (request, h) =>
        answer(request, async () => reply(h, await run(start(request), request.params as Params, (request.payload ?? {}) as Body))),
    },
  });

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
        validate: { headers: schema.createHeaders, payload: Joi.object({ name: schema.name }).label('CreateGroupChat') },
        response: { status: { 201: schema.groupChatCreated } },
        plugins: documented({ success: created('chat'), errors: always }),
        handler: (request, h) =>
          answer(request, async () => {
            const started = start(request);
            const groupChatId = started.ids.newId('group-chat');
            const { name } = request.payload as Body;
            const handled = await onGroupChat(started, groupChatId, { type: 'CreateGroupChat', actorId: started.actorId, name: name! });
            return reply(h, handled, { groupChatId }, 201);
          }),
      },
    },
    {
      method: 'POST',
      path: '/command/v1/group-chats/{id}/messages',
      options: {
        auth,
        tags,
        description: 'Post a message (members)',
        validate: { params: chatParams, headers: schema.createHeaders, payload: Joi.object({ text: schema.text }).label('PostMessage') },
        response: { status: { 201: schema.messagePosted } },
        plugins: documented({ success: created('message'), errors: [...always, 404, 410] }),
        handler: (request, h) =>
          answer(request, async () => {
            const { id } = request.params as Params;
            const { text } = request.payload as Body;
            const started = start(request);
            const messageId = started.ids.newId('message');
            const handled = await onMessage(started, messageId, { type: 'PostMessage', actorId: started.actorId, groupChatId: id!, text: text! });
            return reply(h, handled, { messageId }, 201);
          }),
      },
    },
    update(
      'POST',
      '/command/v1/group-chats/{id}/rename',
      'Rename a group chat (admins)',
      { params: chatParams, payload: Joi.object({ name: schema.name }).label('RenameGroupChat') },
      [403, 409],
      (started, { id }, { name }) => onGroupChat(started, id!, { type: 'RenameGroupChat', actorId: started.actorId, name: name! }),
    ),
    update(
      'POST',
      '/command/v1/group-chats/{id}/members',
      'Add a member (admins)',
      { params: chatParams, payload: Joi.object({ userId: schema.userId, role: schema.role }).label('AddMember') },
      [403, 409],
      (started, { id }, { userId, role }) =>
        onGroupChat(started, id!, { type: 'AddMember', actorId: started.actorId, userId: userId!, role: role as Role }),
    ),
    update(
      'PUT',
      '/command/v1/group-chats/{id}/members/{userId}',
      "Change a member's role (admins)",
      { params: memberParams, payload: Joi.object({ role: schema.role }).label('ChangeMemberRole') },
      [403, 409],
      (started, { id, userId }, { role }) =>
        onGroupChat(started, id!, { type: 'ChangeMemberRole', actorId: started.actorId, userId: userId!, role: role as Role }),
    ),
    update(
      'DELETE',
      '/command/v1/group-chats/{id}/members/{userId}',
      'Remove a member (admins, or a member leaving)',
      { params: memberParams, payload: schema.noBody },
      [403, 409],
      (started, { id, userId }) => onGroupChat(started, id!, { type: 'RemoveMember', actorId: started.actorId, userId: userId! }),
    ),
    update(
      'DELETE',
      '/command/v1/group-chats/{id}',
      'Delete a group chat (admins); every later command on it answers 410',
      { params: chatParams, payload: schema.noBody },
      [403],
      (started, { id }) => onGroupChat(started, id!, { type: 'DeleteGroupChat', actorId: started.actorId }),
    ),
    update(
      'PUT',
      '/command/v1/group-chats/{id}/messages/{messageId}',
      'Edit a message (its author)',
      { params: messageParams, payload: Joi.object({ text: schema.text }).label('EditMessage') },
      [403],
      (started, { id, messageId }, { text }) =>
        onMessage(started, messageId!, { type: 'EditMessage', actorId: started.actorId, groupChatId: id!, text: text! }),
    ),
    update(
      'DELETE',
      '/command/v1/group-chats/{id}/messages/{messageId}',
      'Delete a message (its author or an admin)',
      { params: messageParams, payload: schema.noBody },
      [403],
      (started, { id, messageId }) => onMessage(started, messageId!, { type: 'DeleteMessage', actorId: started.actorId, groupChatId: id! }),
    ),
  ];
}
