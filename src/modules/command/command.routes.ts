import type { Request, ServerRoute } from '@hapi/hapi';
import { encodeConsistencyToken } from '../../contracts/consistency-token.ts';
import { groupChatStream, messageStream } from '../../contracts/streams.ts';
import type { EventStore } from '../../eventstore/index.ts';
import { callerOf, userAuth } from '../../shared/auth.ts';
import { healthRoute } from '../../shared/health.ts';
import { documented, etag } from '../../shared/openapi/responses.ts';
import type { ErrorStatus } from '../../shared/openapi/responses.ts';
import { lazySchemas } from '../../shared/lazy-schema.ts';
import type { FieldKinds, FieldValue, PathParameters } from './command.schemas.ts';
import { groupChatDecider } from './group-chat/group-chat.decider.ts';
import type { GroupChatCommand } from './group-chat/group-chat.decider.ts';
import type { CommandHandler, CommandMetadata, Handled } from './handle-command.ts';
import { requestHash, requestIds } from './idempotency.ts';
import { messageDecider } from './message/message.decider.ts';
import type { MessageCommand } from './message/message.decider.ts';

/** A command and the stream it runs on: a chat's, or a message's (which also reads its chat). */
type Target =
  | { readonly groupChatId: string; readonly command: GroupChatCommand }
  | { readonly messageId: string; readonly command: MessageCommand };

/** What `toCommand` gets: the validated path parameters and body, the caller, a new id when creating. */
interface Input<P, B> {
  readonly params: P;
  readonly payload: B;
  readonly actorId: string;
  /** The id of the chat or message a creating route starts (derived from an Idempotency-Key if sent). */
  readonly newId: string;
}

/** The names of a path's `{parameters}`. */
type ParameterNames<Path extends string> = Path extends `${string}{${infer Name}}${infer Rest}` ? Name | ParameterNames<Rest> : never;
/** A path's parameters as validated: each is checked by its name's schema (`command.schemas.ts`, `pathParameters`). */
type ParamsOf<Path extends string> = { readonly [Name in ParameterNames<Path>]: string };
/** A body of these fields, each of its kind, as validated. */
type BodyOf<Shape extends Record<string, keyof FieldKinds>> = { readonly [Field in keyof Shape]: FieldValue<Shape[Field]> };
type Shape = Record<string, keyof FieldKinds>;

/**
 * One command route: its path and body (from which its input's schemas and types follow), and
 * which command it becomes.
 */
type CommandRoute<Path extends string, Fields extends Shape> = CommandRouteRow<Path, Fields> &
  // A DELETE takes no body.
  ({ readonly method: 'POST' | 'PUT' } | { readonly method: 'DELETE'; readonly body?: never }) &
  // A path parameter without a schema is named by the compiler.
  (ParameterNames<Path> extends PathParameters ? unknown : { readonly pathParameterWithoutSchema: `{${Exclude<ParameterNames<Path>, PathParameters>}}: add its schema to pathParameters (command.schemas.ts)` });

interface CommandRouteRow<Path extends string, Fields extends Shape> {
  readonly method: 'POST' | 'PUT' | 'DELETE';
  /** Each `{parameter}` is validated by the schema its name has in `pathParameters`; an unknown name does not compile. */
  readonly path: Path;
  readonly description: string;
  /**
   * The body: its name in the API description and the `fields` it holds, each with its kind
   * (`{ userId: 'userId', role: 'role' }`, `{ important: 'flag' }`), whose schema is stated once in
   * `command.schemas.ts`'s `fieldKinds`. Absent: the route takes no body.
   */
  readonly body?: { readonly name: string; readonly fields: Fields };
  /** A route that starts a stream: answers 201 with the new id under this name; no If-Match. */
  readonly creates?: 'groupChatId' | 'messageId';
  /** The refusals of its rules (403, 409), besides what every command of its kind can answer. */
  readonly refusals: readonly ErrorStatus[];
  readonly toCommand: (input: Input<ParamsOf<Path>, BodyOf<Fields>>) => Target;
}

/** What any command can answer: bad input, no token, a body too big or not JSON, a reused key, a store down. */
const always = [400, 401, 413, 415, 422, 503] as const;
/** ...and one on an existing chat or message: not found / not yours, deleted, stale If-Match. */
const onExisting = [...always, 404, 410, 412] as const;
/** ...and a message posted into a chat: not found / not yours, deleted. */
const intoChat = [...always, 404, 410] as const;

/** The joi schemas of the routes, loaded with the first command (see `lazySchema`). */
const schema = lazySchemas(() => import('./command.schemas.ts'));
const noBody = schema((s) => s.noBody);
const createHeaders = schema((s) => s.createHeaders);
const updateHeaders = schema((s) => s.updateHeaders);

/** How a route answers: 201 with the new id for one that creates, else 200 on an existing stream. */
const answers = {
  groupChatId: { status: 201, body: schema((s) => s.groupChatCreated), errors: always, done: "Created: the new chat's id, its version and a consistency token" },
  messageId: { status: 201, body: schema((s) => s.messagePosted), errors: intoChat, done: "Created: the new message's id, its version and a consistency token" },
  update: { status: 200, body: schema((s) => s.accepted), errors: onExisting, done: "Done: the stream's new version and a consistency token" },
} as const;
const tags = ['api', 'command'];

/** The command API (docs/api.md, commands): every route, its input and its command, top to bottom. */
const commandTable = [
  route({
    method: 'POST',
    path: '/command/v1/group-chats',
    description: 'Create a group chat; the caller becomes its owner and an admin',
    body: { name: 'CreateGroupChat', fields: { name: 'name' } },
    creates: 'groupChatId',
    refusals: [],
    toCommand: ({ payload, actorId, newId }) => ({ groupChatId: newId, command: { type: 'CreateGroupChat', actorId, name: payload.name } }),
  }),
  route({
    method: 'POST',
    path: '/command/v1/group-chats/{id}/messages',
    description: 'Post a message (members)',
    body: { name: 'PostMessage', fields: { text: 'text' } },
    creates: 'messageId',
    refusals: [],
    toCommand: ({ params, payload, actorId, newId }) => ({
      messageId: newId,
      command: { type: 'PostMessage', actorId, groupChatId: params.id, text: payload.text },
    }),
  }),
  route({
    method: 'POST',
    path: '/command/v1/group-chats/{id}/rename',
    description: 'Rename a group chat (admins)',
    body: { name: 'RenameGroupChat', fields: { name: 'name' } },
    refusals: [403, 409],
    toCommand: ({ params, payload, actorId }) => ({ groupChatId: params.id, command: { type: 'RenameGroupChat', actorId, name: payload.name } }),
  }),
  route({
    method: 'POST',
    path: '/command/v1/group-chats/{id}/members',
    description: 'Add a member (admins)',
    body: { name: 'AddMember', fields: { userId: 'userId', role: 'role' } },
    refusals: [403, 409],
    toCommand: ({ params, payload, actorId }) => ({
      groupChatId: params.id,
      command: { type: 'AddMember', actorId, userId: payload.userId, role: payload.role },
    }),
  }),
  route({
    method: 'PUT',
    path: '/command/v1/group-chats/{id}/members/{userId}',
    description: "Change a member's role (admins)",
    body: { name: 'ChangeMemberRole', fields: { role: 'role' } },
    refusals: [403, 409],
    toCommand: ({ params, payload, actorId }) => ({
      groupChatId: params.id,
      command: { type: 'ChangeMemberRole', actorId, userId: params.userId, role: payload.role },
    }),
  }),
  route({
    method: 'DELETE',
    path: '/command/v1/group-chats/{id}/members/{userId}',
    description: 'Remove a member (admins, or a member leaving)',
    refusals: [403, 409],
    toCommand: ({ params, actorId }) => ({ groupChatId: params.id, command: { type: 'RemoveMember', actorId, userId: params.userId } }),
  }),
  route({
    method: 'DELETE',
    path: '/command/v1/group-chats/{id}',
    description: 'Delete a group chat (admins); every later command on it answers 410',
    refusals: [403],
    toCommand: ({ params, actorId }) => ({ groupChatId: params.id, command: { type: 'DeleteGroupChat', actorId } }),
  }),
  route({
    method: 'PUT',
    path: '/command/v1/group-chats/{id}/messages/{messageId}',
    description: 'Edit a message (its author)',
    body: { name: 'EditMessage', fields: { text: 'text' } },
    refusals: [403],
    toCommand: ({ params, payload, actorId }) => ({
      messageId: params.messageId,
      command: { type: 'EditMessage', actorId, groupChatId: params.id, text: payload.text },
    }),
  }),
  route({
    method: 'DELETE',
    path: '/command/v1/group-chats/{id}/messages/{messageId}',
    description: 'Delete a message (its author or an admin)',
    refusals: [403],
    toCommand: ({ params, actorId }) => ({ messageId: params.messageId, command: { type: 'DeleteMessage', actorId, groupChatId: params.id } }),
  }),
];

interface RouteDependencies {
  readonly handler: CommandHandler;
  readonly store: EventStore;
  readonly clock: () => Date;
  /** Told about each new commit once it is in the log; never awaited by the request. */
  readonly appended: (handled: Handled) => Promise<void>;
}

export function commandRoutes(deps: RouteDependencies): ServerRoute[] {
  return [
    healthRoute({
      path: '/command/v1/healthcheck',
      text: 'Command Server Working!',
      store: 'event store',
      check: () => deps.store.ping(),
      tags,
    }),
    ...commandTable.map((toServerRoute) => toServerRoute(deps)),
  ];
}

/** A table row as a hapi route: validate, build the command, run it, answer `{version, token}`. */
function route<Path extends string, Fields extends Shape = Record<never, never>>(definition: CommandRoute<Path, Fields>) {
  const { method, path, description, creates, refusals } = definition;
  const { status, body, errors, done } = answers[creates ?? 'update'];
  const parameters = [...path.matchAll(/\{(\w+)\}/g)].map(([, name]) => name as PathParameters);
  const payload = definition.body ? schema((s) => s.body(definition.body!.name, definition.body!.fields)) : noBody;
  const params = parameters.length > 0 ? schema((s) => s.params(parameters)) : undefined;
  return (deps: RouteDependencies): ServerRoute => ({
    method,
    path,
    options: {
      auth: { strategy: userAuth },
      tags,
      description,
      validate: { ...(params ? { params } : {}), headers: creates ? createHeaders : updateHeaders, payload },
      response: { status: { [status]: body } },
      plugins: documented({ success: { [status]: { description: done, headers: { ETag: etag } } }, errors: [...errors, ...refusals] }),
      handler: async (request, h) => {
        const actorId = callerOf(request);
        const ids = requestIds(actorId, header(request, 'idempotency-key'));
        const newId = ids.newId(creates === 'messageId' ? 'message' : 'group-chat');
        // hapi types a request's params and payload loosely; here they are what `validate` let through.
        const target = definition.toCommand({ params: request.params as ParamsOf<Path>, payload: request.payload as BodyOf<Fields>, actorId, newId });
        const metadata: CommandMetadata = {
          commandId: ids.commandId,
          commandHash: requestHash(`${method} ${path}`, request.params, request.payload),
          ...(ids.idempotencyKey === undefined ? {} : { idempotencyKey: ids.idempotencyKey }),
          actorId,
          now: deps.clock(),
        };
        const handled = await run(deps.handler, target, { metadata, ...ifMatch(request) });
        await deps.appended(handled);
        return h
          .response({ ...(creates ? { [creates]: newId } : {}), version: handled.version, token: encodeConsistencyToken(handled) })
          .code(status)
          .header('etag', `"${handled.version}"`);
      },
    },
  });
}

/** The stream version an If-Match names (its shape is checked by `updateHeaders`). */
function ifMatch(request: Request): { expectedVersion?: number } {
  const value = header(request, 'if-match');
  return value === undefined ? {} : { expectedVersion: Number(value.slice(1, -1)) };
}

/** A header the route's schema validated as a string, or undefined when absent. */
function header(request: Request, name: 'idempotency-key' | 'if-match'): string | undefined {
  const value: unknown = request.headers[name];
  return typeof value === 'string' ? value : undefined;
}

/** Hands a target to the handler with its decider; a message command also reads its chat. */
function run(handler: CommandHandler, target: Target, options: { metadata: CommandMetadata; expectedVersion?: number }) {
  if ('groupChatId' in target) return handler.handle(groupChatDecider, groupChatStream(target.groupChatId), target.command, options);
  const reads = { streamId: groupChatStream(target.command.groupChatId), fold: groupChatDecider };
  return handler.handle(messageDecider, messageStream(target.messageId), target.command, { ...options, reads });
}
