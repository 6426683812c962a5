import Boom from '@hapi/boom';
import type { Request, ServerRoute } from '@hapi/hapi';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { StreamPosition } from '../../contracts/consistency-token.ts';
import { EventStoreUnavailableError } from '../../eventstore/index.ts';
import { callerOf, userAuth } from '../../shared/auth.ts';
import { healthRoute } from '../../shared/health.ts';
import { unavailable } from '../../shared/http-errors.ts';
import { lazySchemas } from '../../shared/lazy-schema.ts';
import type { LazySchema } from '../../shared/lazy-schema.ts';
import { documented } from '../../shared/openapi/responses.ts';
import { findGroupChat, isMember, listGroupChats } from './group-chats/group-chats.queries.ts';
import { listMessages } from './messages/messages.queries.ts';
import type { ReadYourWrites } from './consistency.ts';
import { isUnavailable } from '../projection/index.ts';
import type { Database } from '../projection/index.ts';

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

/** What a route's query gets: the validated path parameters and query string, the caller. */
interface Input<P, Q> {
  readonly params: P;
  readonly query: Q;
  readonly callerId: string;
  readonly db: Kysely<Database>;
}

/** One query route: its input, its answer, and the query it runs. */
interface QueryRoute<P, Q> {
  readonly path: string;
  readonly description: string;
  readonly validate: { readonly params?: LazySchema<P>; readonly query?: LazySchema<Q> };
  readonly answer: { readonly schema: LazySchema; readonly description: string };
  /**
   * For a route on one chat: the query answers `undefined` when the chat does not exist or the
   * caller is not a member, and the route answers 404 for both alike.
   */
  readonly oneChat?: true;
  readonly run: (input: Input<P, Q>) => Promise<unknown>;
}

/** Bad input, no token, a store down or too many waiting, a consistency token not reached in time. */
const listErrors = [400, 401, 503, 504] as const;
const tags = ['api', 'query'];

/** The query API (docs/api.md, queries): every route, its input and its query, top to bottom. */
const queryTable = [
  route({
    path: '/query/v1/group-chats',
    description: 'The chats the caller belongs to, newest activity first, a page at a time',
    validate: { query: pageQuery },
    answer: { schema: groupChatPage, description: 'A page of the caller\'s chats' },
    run: ({ db, callerId, query: { limit, before } }) => listGroupChats(db, callerId, { limit, ...(before ? { before } : {}) }),
  }),
  route({
    path: '/query/v1/group-chats/{id}',
    description: 'One chat with its members (members only)',
    validate: { params: chatParams },
    answer: { schema: groupChatDetails, description: 'The chat' },
    oneChat: true,
    run: ({ db, callerId, params }) => findGroupChat(db, params.id, callerId),
  }),
  route({
    path: '/query/v1/group-chats/{id}/messages',
    description: 'Messages of a chat, newest first (members only)',
    validate: { params: chatParams, query: pageQuery },
    answer: { schema: messagePage, description: 'A page of messages' },
    oneChat: true,
    run: async ({ db, callerId, params, query: { limit, before } }) => {
      if (!(await isMember(db, params.id, callerId))) return undefined;
      return listMessages(db, params.id, { limit, ...(before ? { before: { postedAt: before.at, messageId: before.id } } : {}) });
    },
  }),
];

export function queryRoutes(deps: QueryRouteDependencies): ServerRoute[] {
  return [
    healthRoute({
      path: queryHealthPath,
      text: 'Query Running',
      store: 'projection database',
      check: () => sql`select 1`.execute(deps.db),
      tags,
    }),
    ...queryTable.map((toServerRoute) => toServerRoute(deps)),
  ];
}

/**
 * A table row as a hapi route: check the input, honour X-Consistency-Token, run the query, and
 * answer 404 for a chat the caller cannot see and 503 for a store that cannot be reached.
 */
function route<P, Q>(definition: QueryRoute<P, Q>) {
  const { path, description, validate, answer, oneChat } = definition;
  return (deps: QueryRouteDependencies): ServerRoute => ({
    method: 'GET',
    path,
    options: {
      auth: { strategy: userAuth },
      tags,
      description,
      validate: { headers, ...(validate.params ? { params: validate.params } : {}), ...(validate.query ? { query: validate.query } : {}) },
      response: { status: { 200: answer.schema } },
      plugins: documented({ success: { 200: { description: answer.description } }, errors: oneChat ? [...listErrors, 404] : listErrors }),
      handler: async (request) => {
        try {
          await consistent(deps.readYourWrites, request);
          const callerId = callerOf(request);
          // hapi types a request's params and query loosely; here they are what `validate` let through.
          const found = await definition.run({ params: request.params as P, query: request.query as Q, callerId, db: deps.db });
          if (found === undefined) throw Boom.notFound('group chat not found');
          return found;
        } catch (error) {
          // A store that cannot be reached becomes 503 right here, not a 500 first, naming which
          // (a consistency token's catch-up reads the event log).
          if (isUnavailable(error)) throw unavailable(error instanceof EventStoreUnavailableError ? 'event store unavailable' : 'projection database unavailable', { cause: error });
          throw error;
        }
      },
    },
  });
}

/**
 * Honours X-Consistency-Token before the query reads (docs/api.md, read-your-writes), for a
 * stream the caller may see; any other token changes nothing, exactly as for a stream that does
 * not exist.
 */
async function consistent(readYourWrites: ReadYourWrites, request: Request): Promise<void> {
  const target = (request.headers as { 'x-consistency-token'?: StreamPosition })['x-consistency-token'];
  if (target === undefined) return;
  const caller = callerOf(request);
  if (!(await readYourWrites.follows(caller, target))) return;
  if (!(await readYourWrites.reach(target, caller))) {
    throw Boom.gatewayTimeout('the write named by X-Consistency-Token is not visible yet; retry');
  }
}
