import { createHmac } from 'node:crypto';
import t from 'tap';
import type { Test } from 'tap';
import { authPlugin, callerOf, issueToken, userAuth } from '../shared/auth.ts';
import { createHttpServer } from '../shared/http-server.ts';

/**
 * A verified token is remembered by its digest. Whatever a client sends, the server that has
 * remembered tokens answers exactly as a server that never saw them: same status, same body.
 */

const secret = 'a-shared-secret-of-16+';
const b64 = (value: object | string) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
/** The documented 401 body. */
const unauthorized = (message: string) => ({ statusCode: 401, error: 'Unauthorized', message, attributes: { error: message } });

/** An HS256 (or other HMAC) token with these claims and header, signed with `key`. */
function token(claims: Record<string, unknown>, header: Record<string, unknown> = { alg: 'HS256', typ: 'JWT' }, key = secret): string {
  const input = `${b64(header)}.${b64(claims)}`;
  const hash = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' }[header.alg as string] ?? 'sha256';
  return `${input}.${createHmac(hash, key).update(input).digest('base64url')}`;
}

/** The clock the servers check tokens against: a test moves it rather than wait for time to pass. */
const clock = { now: Date.now() };
const nowSec = () => Math.floor(clock.now / 1000);

async function app(t: Test) {
  const server = createHttpServer();
  await server.register({ plugin: authPlugin, options: { secret, now: () => clock.now } });
  server.route({ method: 'GET', path: '/me', options: { auth: userAuth, handler: (request) => ({ userId: callerOf(request) }) } });
  await server.initialize();
  t.teardown(() => server.stop());
  return async (bearer: string) => {
    const response = await server.inject({ url: '/me', headers: { authorization: `Bearer ${bearer}` } });
    return { status: response.statusCode, body: JSON.parse(response.payload) as Record<string, unknown> };
  };
}

t.test('a remembered token does not vouch for any other string: every one-character change answers as on a fresh server', async (t) => {
  const [remembering, fresh] = [await app(t), await app(t)];
  const good = issueToken('alice', secret);
  t.same(await remembering(good), { status: 200, body: { userId: 'alice' } });
  t.same(await remembering(good), { status: 200, body: { userId: 'alice' } }, 'remembered');
  const alphabet = 'AQgwBb-_';
  let changed = 0;
  for (let index = 0; index < good.length; index++) {
    if (good[index] === '.') continue;
    for (const char of alphabet) {
      if (char === good[index]) continue;
      const variant = good.slice(0, index) + char + good.slice(index + 1);
      const [seen, unseen] = [await remembering(variant), await fresh(variant)];
      if (seen.status !== unseen.status || JSON.stringify(seen.body) !== JSON.stringify(unseen.body)) {
        t.fail(`variant at ${index}: ${JSON.stringify(seen)} vs ${JSON.stringify(unseen)}`);
      }
      changed++;
    }
  }
  t.ok(changed > good.length, `${changed} variants answered as on a server that never saw the token`);
  t.same(await remembering(`${good}A`), { status: 401, body: unauthorized('Invalid token signature') });
});

t.test('the same claims under another algorithm, none, or another key are refused after the HS256 token was remembered', async (t) => {
  const call = await app(t);
  const claims = { sub: 'alice', exp: nowSec() + 300 };
  t.equal((await call(token(claims))).status, 200);
  for (const [name, forged] of [
    ['HS512 with the same secret', token(claims, { alg: 'HS512', typ: 'JWT' })],
    ['HS384 with the same secret', token(claims, { alg: 'HS384', typ: 'JWT' })],
    ['alg none', `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`],
    ['another secret', token(claims, undefined, 'another-secret-of-16+')],
    ['the HS256 signature under another header', `${b64({ alg: 'HS256' })}.${token(claims).split('.').slice(1).join('.')}`],
  ] as const) {
    const response = await call(forged);
    t.equal(response.status, 401, name);
    t.match(response.body, { statusCode: 401, error: 'Unauthorized', message: /^Token algorithm is not accepted$|^Invalid token signature$|^Invalid token$/ }, name);
  }
});

t.test('a remembered token expires on time: past exp and the 30 s tolerance it is 401 Token expired', async (t) => {
  const call = await app(t);
  // Already past exp, still inside the tolerance for a few seconds.
  const exp = nowSec() - 27;
  const soon = token({ sub: 'alice', exp });
  t.same(await call(soon), { status: 200, body: { userId: 'alice' } });
  t.same(await call(soon), { status: 200, body: { userId: 'alice' } }, 'remembered');
  clock.now += 2_000;
  t.same(await call(soon), { status: 200, body: { userId: 'alice' } }, 'one second before the tolerance ends');
  clock.now += 2_000;
  t.same(await call(soon), { status: 401, body: unauthorized('Token expired') });
  t.same(await call(soon), { status: 401, body: unauthorized('Token expired') }, 'and stays refused');
});

t.test('a token not valid yet (nbf past the tolerance) is refused every time, never remembered', async (t) => {
  const call = await app(t);
  const early = token({ sub: 'alice', exp: nowSec() + 300, nbf: nowSec() + 120 });
  for (let i = 0; i < 3; i++) {
    t.same(await call(early), { status: 401, body: unauthorized('Token claim nbf is not valid') });
  }
});

t.test('a remembered token with a sub the scheme refuses stays 401 on every use', async (t) => {
  const call = await app(t);
  const bad = token({ sub: 'not valid!', exp: nowSec() + 300 });
  for (let i = 0; i < 3; i++) {
    t.same(await call(bad), {
      status: 401,
      body: unauthorized('Token sub must be 1-64 characters of A-Z, a-z, 0-9, _ or -'),
    });
  }
});

t.test('the same token many times at once, and a flood of distinct tokens past the bound: every answer right', async (t) => {
  const call = await app(t);
  const first = issueToken('alice', secret);
  const together = await Promise.all(Array.from({ length: 50 }, () => call(first)));
  t.ok(together.every((r) => r.status === 200 && r.body.userId === 'alice'), '50 concurrent uses of one token');
  const flood = Array.from({ length: 1_500 }, (_, i) => token({ sub: `user-${i}`, exp: nowSec() + 300 }));
  const answers = [];
  for (let i = 0; i < flood.length; i += 100) answers.push(...(await Promise.all(flood.slice(i, i + 100).map(call))));
  t.ok(answers.every((r, i) => r.status === 200 && r.body.userId === `user-${i}`), '1,500 distinct tokens, each its own caller');
  t.same(await call(first), { status: 200, body: { userId: 'alice' } }, 'a token forgotten by the bound is verified again');
  t.same(await call(flood[0]!), { status: 200, body: { userId: 'user-0' } });
});
