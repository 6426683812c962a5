import Boom from '@hapi/boom';
import type { Request, ServerRoute } from '@hapi/hapi';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { StreamPosition } from '../../contracts/consistency-token.ts';
import { callerOf, userAuth } from '../../shared/auth.ts';
import { healthRoute } from '../../shared/health.ts';
import { unavailable } from '../../shared/http-errors.ts';
import { lazySchemas } from '../../shared/lazy-schema.ts';
import { documented } from '../../shared/openapi/responses.ts';
import type { Database } from './database.ts';
import { findGroupChat, isMember, listGroupChats } from './group-chats/group-chats.queries.ts';
import { listMessages } from './messages/messages.queries.ts';
import type { PageCursor } from './page-cursor.ts';
import type { ReadYourWrites } from './projection/consistency.ts';
import { isUnavailable } from './query-errors.ts';

export interface QueryRouteDependencies {
  readonly db: Kysely<Database>;
  readonly readYourWrites: ReadYourWrites;
}

/** The joi schemas of the routes, loaded with the first query (see `lazySchema`). */
const schema = lazySchemas(() => import('./query.schemas.ts'));
const headers = schema((s) => s.headers);
const pageQuery = schema((s) => s.pageQuery);
const chatParams = schema((s) => s.chatParams);
const groupChatPage = schema((s) => s.groupChatPage);
const groupChatDetails = schema((s) => s.groupChatDetails);
const messagePage = schema((s) => s.messagePage);

export const queryHealthPath = '/query/healthcheck';

export function queryRoutes(deps: QueryRouteDependencies): ServerRoute[] {
  /**
   * Honours X-Consistency-Token before the query reads (docs/api.md, read-your-writes), for a
   * stream the caller may see; any other token changes nothing, exactly as for a stream that does
   * not exist.
   */
  const consistent = async (request: Request) => {
    const target = (request.headers as { 'x-consistency-token'?: StreamPosition })['x-consistency-token'];
    if (target === undefined) return;
    const caller = callerOf(request);
    if (!(await deps.readYourWrites.follows(caller, target))) return;
    if (!(await deps.readYourWrites.reach(target, caller))) {
      throw Boom.gatewayTimeout('the write named by X-Consistency-Token is not visible yet; retry');
    }
  };

  /** Runs a query; a store that cannot be reached becomes 503 right here, not a 500 first. */
  const answer = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      if (isUnavailable(error)) throw unavailable('projection database unavailable', { cause: error });
      throw error;
    }
  };
  const notFound = () => Boom.notFound('group chat not found');
  const auth = { strategy: userAuth };
  const tags = ['api', 'query'];
  /** Bad input, no token, a store down or too many waiting, a consistency token not reached in time. */
  const listErrors = [400, 401, 503, 504] as const;

  return [
    healthRoute({
      path: queryHealthPath,
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
        description: 'The chats the caller belongs to, newest activity first, a page at a time',
        validate: { headers, query: pageQuery },
        response: { status: { 200: groupChatPage } },
        plugins: documented({ success: { 200: { description: 'A page of the caller\'s chats' } }, errors: listErrors }),
        handler: (request) =>
          answer(async () => {
            await consistent(request);
            const { limit, before } = request.query as { limit: number; before?: PageCursor };
            return listGroupChats(deps.db, callerOf(request), { limit, ...(before ? { before } : {}) });
          }),
      },
    },
    {
      method: 'GET',
      path: '/query/v1/group-chats/{id}',
      options: {
        auth,
        tags,
        description: 'One chat with its members (members only)',
        validate: { headers, params: chatParams },
        response: { status: { 200: groupChatDetails } },
        plugins: documented({ success: { 200: { description: 'The chat' } }, errors: [...listErrors, 404] }),
        handler: (request) =>
          answer(async () => {
            await consistent(request);
            return (await findGroupChat(deps.db, request.params.id as string, callerOf(request))) ?? notFound();
          }),
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
          params: chatParams,
          query: pageQuery,
        },
        response: { status: { 200: messagePage } },
        plugins: documented({ success: { 200: { description: 'A page of messages' } }, errors: [...listErrors, 404] }),
        handler: (request) =>
          answer(async () => {
            await consistent(request);
            const groupChatId = request.params.id as string;
            if (!(await isMember(deps.db, groupChatId, callerOf(request)))) return notFound();
            const { limit, before } = request.query as { limit: number; before?: PageCursor };
            return listMessages(deps.db, groupChatId, { limit, ...(before ? { before: { postedAt: before.at, messageId: before.id } } : {}) });
          }),
      },
    },
  ];
}
