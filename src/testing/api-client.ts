import createClient from 'openapi-fetch';
import { issueToken } from '../shared/auth.ts';
import type { paths } from './api-types.ts';
import { testSecret } from './command-server.ts';

/**
 * A typed client of the service, generated from its own description: openapi-fetch over the
 * types openapi-typescript made of `/openapi.json` (src/testing/api-types.ts). Paths, parameters,
 * bodies and answers, errors included, are checked by the compiler.
 *
 * @example
 * const { data, error } = await apiClient(url, 'alice').POST('/command/v1/group-chats', { body: { name: 'Team' } });
 */
export function apiClient(baseUrl: string, user?: string) {
  const client = createClient<paths>({ baseUrl });
  if (user !== undefined) {
    const authorization = `Bearer ${issueToken(user, testSecret)}`;
    client.use({ onRequest: ({ request }) => (request.headers.set('authorization', authorization), request) });
  }
  return client;
}
