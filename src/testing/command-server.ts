import type { Server, ServerInjectOptions } from '@hapi/hapi';
import type { Commit, EventStore } from '../eventstore/index.ts';
import { commandModule } from '../modules/command/index.ts';
import { authPlugin, issueToken } from '../shared/auth.ts';
import { createHttpServer } from '../shared/http-server.ts';

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
  const as = (user: string) => ({
    createChat: async (name = 'Team', headers?: Record<string, string>) => {
      const response = await send(user, 'POST', '/command/v1/group-chats', { name }, headers);
      return { ...response, id: response.body.groupChatId as string };
    },
    rename: (id: string, name: string, headers?: Record<string, string>) =>
      send(user, 'POST', `/command/v1/group-chats/${id}/rename`, { name }, headers),
    addMember: (id: string, userId: string, role = 'member', headers?: Record<string, string>) =>
      send(user, 'POST', `/command/v1/group-chats/${id}/members`, { userId, role }, headers),
    changeRole: (id: string, userId: string, role: string, headers?: Record<string, string>) =>
      send(user, 'PUT', `/command/v1/group-chats/${id}/members/${userId}`, { role }, headers),
    removeMember: (id: string, userId: string, headers?: Record<string, string>) =>
      send(user, 'DELETE', `/command/v1/group-chats/${id}/members/${userId}`, undefined, headers),
    deleteChat: (id: string, headers?: Record<string, string>) => send(user, 'DELETE', `/command/v1/group-chats/${id}`, undefined, headers),
    post: async (id: string, text: string, headers?: Record<string, string>) => {
      const response = await send(user, 'POST', `/command/v1/group-chats/${id}/messages`, { text }, headers);
      return { ...response, id: response.body.messageId as string };
    },
    edit: (id: string, messageId: string, text: string, headers?: Record<string, string>) =>
      send(user, 'PUT', `/command/v1/group-chats/${id}/messages/${messageId}`, { text }, headers),
    deleteMessage: (id: string, messageId: string, headers?: Record<string, string>) =>
      send(user, 'DELETE', `/command/v1/group-chats/${id}/messages/${messageId}`, undefined, headers),
  });
  return { server, send, as };
}
