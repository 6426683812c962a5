import type { Server, ServerInjectOptions } from '@hapi/hapi';
import type { Commit, EventStore } from '../eventstore/index.ts';
import { commandModule } from '../modules/command/index.ts';
import { authPlugin, issueToken } from '../shared/auth.ts';
import { createHttpServer } from '../shared/http-server.ts';
import type { paths } from './api-types.ts';
import { fillPath } from './described-operations.ts';

export const testSecret = 'test-secret-of-at-least-16-chars';

export interface CommandServerOptions {
  readonly onAppended?: (commit: Commit) => unknown;
  readonly maxAttempts?: number;
}

/** A fresh server with the command module over the given store, driven by `server.inject`. */
export async function commandServer(eventStore: EventStore, options: CommandServerOptions = {}) {
  const server = createHttpServer();
  await server.register([
    { plugin: authPlugin, options: { secret: testSecret } },
    { plugin: commandModule, options: { eventStore, ...options } },
  ]);
  await server.initialize();
  return client(server);
}

type Method = 'get' | 'post' | 'put' | 'delete';
/** Every described route as `METHOD /path/{param}`, from the types of the served description. */
export type DescribedRoute = {
  [P in keyof paths & string]: { [M in Method]: [NonNullable<paths[P][M]>] extends [never] ? never : `${Uppercase<M>} ${P}` }[Method];
}[keyof paths & string];
type OperationOf<R> = R extends `${infer M} ${infer P}` ? NonNullable<paths[P & keyof paths][Lowercase<M> & Method]> : never;
type BodyOf<R> = OperationOf<R> extends { requestBody: { content: { 'application/json': infer B } } } ? B : never;
type PathOf<R> = OperationOf<R> extends { parameters: { path: infer P } } ? P : never;
/** What a call of route `R` sends: its path parameters and body as the description types them. */
export type CallInput<R> = ([PathOf<R>] extends [never] ? { readonly params?: undefined } : { readonly params: PathOf<R> }) &
  ([BodyOf<R>] extends [never] ? { readonly body?: undefined } : { readonly body: BodyOf<R> }) & { readonly headers?: Record<string, string> };

export function client(server: Server) {
  const send = async (user: string | undefined, method: string, url: string, payload?: unknown, headers: Record<string, string> = {}) => {
    const options: ServerInjectOptions = {
      method,
      url,
      headers: { ...(user ? { authorization: `Bearer ${issueToken(user, testSecret)}` } : {}), ...headers },
      ...(payload === undefined ? {} : { payload: payload as object }),
    };
    const response = await server.inject(options);
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(response.payload) as Record<string, unknown>;
    } catch {
      // text responses (health) keep an empty body; `response.payload` has the text
    }
    return { status: response.statusCode, body, headers: response.headers, payload: response.payload };
  };
  /**
   * The caller's view of the API. `call` reaches any described route by its method and path,
   * parameters and body typed by the description (src/testing/api-types.ts): a new route is
   * callable from tests as soon as it is served, with nothing to add here. The named helpers
   * are shorthands over it for the routes most tests use.
   *
   * @example
   * await api.as('alice').call('POST /command/v1/group-chats/{id}/rename', { params: { id }, body: { name: 'Renamed' } });
   */
  const as = (user: string) => {
    const call = <R extends DescribedRoute>(route: R, input: CallInput<R>) => {
      const [method, path] = route.split(' ') as [string, string];
      return send(user, method, fillPath(path, (input.params ?? {}) as Record<string, string>), input.body, input.headers);
    };
    return {
      call,
      createChat: async (name = 'Team', headers?: Record<string, string>) => {
        const response = await call('POST /command/v1/group-chats', { body: { name }, ...(headers ? { headers } : {}) });
        return { ...response, id: response.body.groupChatId as string };
      },
      rename: (id: string, name: string, headers?: Record<string, string>) =>
        call('POST /command/v1/group-chats/{id}/rename', { params: { id }, body: { name }, ...(headers ? { headers } : {}) }),
      addMember: (id: string, userId: string, role = 'member', headers?: Record<string, string>) =>
        call('POST /command/v1/group-chats/{id}/members', { params: { id }, body: { userId, role: role as 'member' }, ...(headers ? { headers } : {}) }),
      changeRole: (id: string, userId: string, role: string, headers?: Record<string, string>) =>
        call('PUT /command/v1/group-chats/{id}/members/{userId}', { params: { id, userId }, body: { role: role as 'member' }, ...(headers ? { headers } : {}) }),
      removeMember: (id: string, userId: string, headers?: Record<string, string>) =>
        call('DELETE /command/v1/group-chats/{id}/members/{userId}', { params: { id, userId }, ...(headers ? { headers } : {}) }),
      deleteChat: (id: string, headers?: Record<string, string>) => call('DELETE /command/v1/group-chats/{id}', { params: { id }, ...(headers ? { headers } : {}) }),
      post: async (id: string, text: string, headers?: Record<string, string>) => {
        const response = await call('POST /command/v1/group-chats/{id}/messages', { params: { id }, body: { text }, ...(headers ? { headers } : {}) });
        return { ...response, id: response.body.messageId as string };
      },
      edit: (id: string, messageId: string, text: string, headers?: Record<string, string>) =>
        call('PUT /command/v1/group-chats/{id}/messages/{messageId}', { params: { id, messageId }, body: { text }, ...(headers ? { headers } : {}) }),
      deleteMessage: (id: string, messageId: string, headers?: Record<string, string>) =>
        call('DELETE /command/v1/group-chats/{id}/messages/{messageId}', { params: { id, messageId }, ...(headers ? { headers } : {}) }),
    };
  };
  return { server, send, as };
}
