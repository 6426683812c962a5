import { generateKeyPairSync, randomUUID } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, decodeProtectedHeader } from 'jose';
import t from 'tap';
import { eventually } from '../testing/eventually.ts';
import type { Test } from 'tap';
import { authPlugin, callerOf, issueToken, rememberVerified, userAuth } from './auth.ts';
import type { AuthOptions } from './auth.ts';
import { createHttpServer } from './http-server.ts';

const issuer = 'https://idp.example';
const audience = 'chat-api';
const exp = () => Math.floor(Date.now() / 1000) + 300;

interface SigningKey {
  readonly kid: string;
  readonly alg: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly jwk: Record<string, unknown>;
}

function signingKey(alg: string, kid = `key-${randomUUID().slice(0, 8)}`, declareAlg = true): SigningKey {
  const pair = alg.startsWith('ES')
    ? generateKeyPairSync('ec', { namedCurve: { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' }[alg]! })
    : generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...pair.publicKey.export({ format: 'jwk' }), kid, use: 'sig', ...(declareAlg ? { alg } : {}) };
  return { kid, alg, privateKey: pair.privateKey, publicKey: pair.publicKey, jwk };
}

const sign = (key: SigningKey, claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}) =>
  new SignJWT({ sub: 'alice', iss: issuer, aud: audience, exp: exp(), ...claims })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, ...header })
    .sign(key.privateKey);

type Mode = 'serve' | 'hang' | 'drop' | 'garbage' | 'empty';

/** A JWKS endpoint whose keys and behaviour the test changes; it counts the fetches it sees. */
async function jwksServer(t: Test, keys: SigningKey[]) {
  const state = { keys: [...keys], mode: 'serve' as Mode, fetches: 0 };
  const hanging: ServerResponse[] = [];
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    state.fetches++;
    if (state.mode === 'hang') return void hanging.push(response);
    if (state.mode === 'drop') return void request.socket.destroy();
    response.setHeader('content-type', 'application/json');
    if (state.mode === 'garbage') return void response.end('<html>maintenance</html>');
    if (state.mode === 'empty') return void response.end('{"keys":[]}');
    response.end(JSON.stringify({ keys: state.keys.map((k) => k.jwk) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  });
  return { state, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json` };
}

/** A port with nothing listening: connections are refused. */
async function refusingUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}/jwks.json`;
}

/** A started server with a health route and one authenticated route, on a clock the test moves. */
async function app(t: Test, options: AuthOptions, jwks: AuthOptions['jwks'] = {}) {
  const clock = { now: 1_000_000 };
  const server = createHttpServer({ port: 0, host: '127.0.0.1' });
  const registered = options.secret ? options : { ...options, jwks: { now: () => clock.now, ...jwks } };
  await server.register({ plugin: authPlugin, options: registered });
  server.route({ method: 'GET', path: '/health', options: { auth: false, handler: () => 'ok' } });
  server.route({ method: 'GET', path: '/me', options: { auth: userAuth, handler: (request) => ({ userId: callerOf(request) }) } });
  await server.start();
  t.teardown(() => server.stop());
  const call = async (token: string) => {
    const response = await server.inject({ url: '/me', headers: { authorization: `Bearer ${token}` } });
    return { status: response.statusCode, body: JSON.parse(response.payload) as Record<string, unknown>, headers: response.headers };
  };
  return { server, clock, call, health: async () => (await server.inject('/health')).statusCode };
}

/** Waits for something the server does in the background. */
const until = async (condition: () => boolean): Promise<void> => void (await eventually('the background work', condition, (held) => held));

t.test('RSA keys: a good token passes, wrong issuer, audience, expiry or signature is 401', async (t) => {
  const rsa = signingKey('RS256');
  const { url, state } = await jwksServer(t, [rsa]);
  const { call } = await app(t, { jwksUrl: url, issuer, audience });
  t.match(await call(await sign(rsa)), { status: 200, body: { userId: 'alice' } });
  const cases: [string, Promise<string> | string, RegExp][] = [
    ['wrong issuer', sign(rsa, { iss: 'https://evil.example' }), /issuer/],
    ['wrong audience', sign(rsa, { aud: 'other-api' }), /audience/],
    ['expired', sign(rsa, { exp: Math.floor(Date.now() / 1000) - 120 }), /expired/],
    ['no exp', sign(rsa, { exp: undefined }), /expiry/],
    ['bad sub', sign(rsa, { sub: 'alice smith' }), /sub/],
    ['no sub', sign(rsa, { sub: undefined }), /sub/],
    ['signed by another key under the same kid', sign({ ...signingKey('RS256'), kid: rsa.kid }), /signature/],
    ['an RS256 key named for RS512', sign({ ...rsa, alg: 'RS512' }), /key/],
    ['HS256 with the locally shared kind of secret', issueToken('alice', 'a-shared-secret-of-16+'), /algorithm/],
  ];
  for (const [name, token, message] of cases) {
    const response = await call(await token);
    t.equal(response.status, 401, name);
    t.match(response.body, { statusCode: 401, message }, name);
  }
  t.equal(state.fetches, 1, 'all of it from one fetch');
});

t.test('alg none and HS256 signed with the public key are refused', async (t) => {
  const rsa = signingKey('RS256');
  const { url } = await jwksServer(t, [rsa]);
  const { call } = await app(t, { jwksUrl: url, issuer, audience });
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const claims = encode({ sub: 'alice', iss: issuer, aud: audience, exp: exp() });
  t.equal((await call(`${encode({ alg: 'none', typ: 'JWT', kid: rsa.kid })}.${claims}.`)).status, 401, 'alg none');
  // The classic confusion: the public key, as published, used as an HMAC secret.
  const pem = rsa.publicKey.export({ format: 'pem', type: 'spki' }).toString();
  for (const secret of [pem, JSON.stringify(rsa.jwk), String(rsa.jwk.n)]) {
    const forged = await new SignJWT({ sub: 'alice', iss: issuer, aud: audience, exp: exp() })
      .setProtectedHeader({ alg: 'HS256', kid: rsa.kid })
      .sign(new TextEncoder().encode(secret));
    const response = await call(forged);
    t.equal(response.status, 401, 'HS256 keyed with the public key');
    t.match(response.body, { message: /algorithm/ });
  }
});

t.test('EC keys: each curve verifies its own algorithm only', async (t) => {
  // No `alg` on the keys: the curve alone decides.
  const keys = [signingKey('ES256', 'p256', false), signingKey('ES384', 'p384', false), signingKey('ES512', 'p521', false)];
  const { url } = await jwksServer(t, keys);
  const { call } = await app(t, { jwksUrl: url, issuer, audience });
  for (const key of keys) t.equal((await call(await sign(key))).status, 200, `${key.alg} with its curve`);
  // An ES384 header naming the P-256 key: that curve cannot hold that algorithm.
  const mismatched = await new SignJWT({ sub: 'alice', iss: issuer, aud: audience, exp: exp() })
    .setProtectedHeader({ alg: 'ES384', kid: 'p256' })
    .sign(keys[1]!.privateKey);
  t.equal((await call(mismatched)).status, 401, 'ES384 against a P-256 key');
});

t.test('a token without kid is checked against each key that fits its algorithm', async (t) => {
  const first = signingKey('RS256', 'first', false);
  const second = signingKey('RS256', 'second', false);
  const { url } = await jwksServer(t, [first, second]);
  const { call } = await app(t, { jwksUrl: url, issuer, audience });
  const token = await new SignJWT({ sub: 'bob', iss: issuer, aud: audience, exp: exp() }).setProtectedHeader({ alg: 'RS256' }).sign(second.privateKey);
  t.notOk(decodeProtectedHeader(token).kid);
  t.same((await call(token)).body, { userId: 'bob' });
  const stranger = await new SignJWT({ sub: 'bob', iss: issuer, aud: audience, exp: exp() }).setProtectedHeader({ alg: 'RS256' }).sign(signingKey('RS256').privateKey);
  t.equal((await call(stranger)).status, 401);
});

t.test('the server starts and answers health while the JWKS refuses connections', async (t) => {
  const rsa = signingKey('RS256');
  const { server, call, health, clock } = await app(t, { jwksUrl: await refusingUrl(), issuer, audience });
  t.equal(server.info.started > 0, true, 'listening');
  t.equal(await health(), 200);
  const response = await call(await sign(rsa));
  t.equal(response.status, 503, 'cannot verify right now');
  t.match(response.headers['retry-after'], /^\d+$/);
  t.match(response.body, { statusCode: 503, message: /cannot verify/ });
  clock.now += 60_000;
  t.equal((await call(await sign(rsa))).status, 503, 'still 503 (never 500) after the back-off');
});

t.test('the server starts and answers health while the JWKS hangs; a request waits at most the timeout', async (t) => {
  const rsa = signingKey('RS256');
  const { url, state } = await jwksServer(t, [rsa]);
  state.mode = 'hang';
  const { health, call } = await app(t, { jwksUrl: url, issuer, audience }, { timeoutMs: 300 });
  t.equal(await health(), 200, 'health does not wait on the provider');
  const response = await call(await sign(rsa));
  t.equal(response.status, 503);
  t.ok(Number(response.headers['retry-after']) >= 1);
});

t.test('rotation: a key published after start is accepted once the unknown kid triggers a refetch', async (t) => {
  const old = signingKey('RS256');
  const rotated = signingKey('ES256');
  const { url, state } = await jwksServer(t, [old]);
  const { call, clock } = await app(t, { jwksUrl: url, issuer, audience }, { unknownKidCooldownMs: 5_000 });
  t.equal((await call(await sign(old))).status, 200);
  const before = state.fetches;
  state.keys.push(rotated);
  clock.now += 5_000;
  t.equal((await call(await sign(rotated))).status, 200, 'the new kid is fetched and accepted');
  t.equal(state.fetches, before + 1, 'with one refetch');
  t.equal((await call(await sign(old))).status, 200, 'the old key still works');
});

t.test('a flood of unknown kids costs at most one fetch per cooldown', async (t) => {
  const rsa = signingKey('RS256');
  const { url, state } = await jwksServer(t, [rsa]);
  const { call, clock } = await app(t, { jwksUrl: url, issuer, audience }, { unknownKidCooldownMs: 5_000 });
  t.equal((await call(await sign(rsa))).status, 200);
  const fetched = state.fetches;
  const flood = async () => {
    const tokens = await Promise.all(Array.from({ length: 40 }, () => sign({ ...rsa, kid: randomUUID() })));
    return Promise.all(tokens.map((token) => call(token)));
  };
  const within = await flood();
  t.ok(within.every((r) => r.status === 401), 'unknown kids are 401');
  t.equal(state.fetches, fetched, 'no fetch within the cooldown after a good fetch');
  clock.now += 5_000;
  const after = await flood();
  t.ok(after.every((r) => r.status === 401));
  t.equal(state.fetches, fetched + 1, 'one shared fetch once the cooldown is over');
  for (let n = 0; n < 20; n++) await call(await sign({ ...rsa, kid: `made-up-${n}` }));
  t.equal(state.fetches, fetched + 1, 'and none for the kids that follow');
});

t.test('an outage after the keys were cached: known kids keep verifying, unknown kids are 503', async (t) => {
  const rsa = signingKey('RS256');
  const { url, state } = await jwksServer(t, [rsa]);
  const { call, clock } = await app(t, { jwksUrl: url, issuer, audience }, { maxAgeMs: 60_000, unknownKidCooldownMs: 5_000, timeoutMs: 3_000 });
  t.equal((await call(await sign(rsa))).status, 200);
  for (const mode of ['drop', 'garbage', 'empty', 'hang'] as const) {
    state.mode = mode;
    clock.now += 3_600_000; // far past the cache's age: a refresh is due
    const fetched = state.fetches;
    t.equal((await call(await sign(rsa))).status, 200, `${mode}: the cached key still verifies`);
    await until(() => state.fetches > fetched);
    t.equal(state.fetches, fetched + 1, `${mode}: a background refresh was tried`);
    const unknown = await call(await sign({ ...rsa, kid: 'never-seen' }));
    t.equal(unknown.status, 503, `${mode}: an unknown kid cannot be checked now`);
    t.equal(state.fetches, fetched + 1, `${mode}: and costs no fetch during the back-off`);
    t.ok(unknown.headers['retry-after']);
  }
  state.mode = 'serve';
  clock.now += 60_000;
  const fetched = state.fetches;
  t.equal((await call(await sign(rsa))).status, 200);
  await until(() => state.fetches > fetched);
  const unknown = await call(await sign({ ...rsa, kid: 'never-seen' }));
  t.equal(unknown.status, 401, 'back to 401 once the provider answers');
});

t.test('no keys yet: requests during the back-off answer 503 at once, then the provider recovers', async (t) => {
  const rsa = signingKey('RS256');
  const { url, state } = await jwksServer(t, [rsa]);
  state.mode = 'drop';
  const { call, clock } = await app(t, { jwksUrl: url, issuer, audience });
  await until(() => state.fetches > 0);
  const first = await call(await sign(rsa));
  t.equal(first.status, 503, 'the start-up fetch failed');
  const fetched = state.fetches;
  const during = await Promise.all(Array.from({ length: 10 }, async () => call(await sign(rsa))));
  t.ok(during.every((r) => r.status === 503));
  t.equal(state.fetches, fetched, 'no fetch while backing off');
  state.mode = 'serve';
  clock.now += 10_000;
  t.equal((await call(await sign(rsa))).status, 200, 'keys once the provider is back');
});

t.test('a remembered token: the signature is checked once, expiry on every use, keys on every change', async (t) => {
  const clock = { now: 1_000_000_000 };
  const seen: string[] = [];
  const refused = new Set<string>();
  const verify = async (token: string) => {
    seen.push(token);
    if (refused.has(token)) throw new Error('refused');
    return { sub: token, exp: 1_000_000 + 60 };
  };
  let set: number | undefined = 1;
  const check = rememberVerified(verify, () => set, () => clock.now);
  t.same(await check('a'), { sub: 'a', exp: 1_000_060 });
  t.same(await check('a'), { sub: 'a', exp: 1_000_060 });
  t.same(seen, ['a'], 'the second use is not verified again');
  refused.add('b');
  await t.rejects(check('b'), /refused/);
  await t.rejects(check('b'), /refused/);
  t.same(seen, ['a', 'b', 'b'], 'a refusal is never remembered');
  set = 2;
  await check('a');
  t.same(seen, ['a', 'b', 'b', 'a'], 'another key set verifies again');
  set = undefined;
  await check('a');
  await check('a');
  t.same(seen, ['a', 'b', 'b', 'a', 'a', 'a'], 'keys about to be fetched: every use is verified, nothing remembered');
  set = 2;
  clock.now = (1_000_060 + 29) * 1000;
  await check('a');
  t.equal(seen.length, 6, 'within the clock tolerance past exp: still remembered');
  clock.now = (1_000_060 + 30) * 1000;
  refused.add('a');
  await t.rejects(check('a'), /refused/, 'past exp and its tolerance: verified again, and refused');
});

t.test('a token verified before its key left the JWKS is refused once the new set is fetched', async (t) => {
  const [old, current] = [signingKey('RS256'), signingKey('RS256')];
  const { url, state } = await jwksServer(t, [old, current]);
  const { call, clock } = await app(t, { jwksUrl: url, issuer, audience }, { maxAgeMs: 60_000 });
  const token = await sign(old);
  t.equal((await call(token)).status, 200);
  t.equal((await call(token)).status, 200, 'remembered');
  state.keys = [current];
  clock.now += 60_000;
  const fetched = state.fetches;
  t.equal((await call(token)).status, 200, 'the old set serves while the refresh runs');
  await until(() => state.fetches > fetched);
  // The fetched set is in place a moment after the endpoint answered.
  const after = await eventually('the new key set in place', () => call(token), (answer) => answer.status !== 200);
  t.equal(after.status, 401, 'the key is gone: so is the token');
  t.equal((await call(await sign(current))).status, 200);
});

t.test('options are checked at registration', async (t) => {
  const server = createHttpServer();
  await t.rejects(server.register({ plugin: authPlugin, options: {} }), /auth plugin options/);
  await t.rejects(createHttpServer().register({ plugin: authPlugin, options: { secret: 'short' } }), /"secret" length must be at least 16/);
  await t.rejects(
    createHttpServer().register({ plugin: authPlugin, options: { jwksUrl: 'https://idp.example/jwks.json' } }),
    /issuer/,
    'a JWKS needs issuer and audience',
  );
});

t.test('tokens for local use', async (t) => {
  t.throws(() => issueToken('not valid!', 'a-shared-secret-of-16+'), /user id/);
  const token = issueToken('bob', 'a-shared-secret-of-16+');
  t.match(decodeProtectedHeader(token), { alg: 'HS256', typ: 'JWT' });
  t.match(JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()), { sub: 'bob', exp: Number });
  const { call } = await app(t, { secret: 'a-shared-secret-of-16+' });
  t.same((await call(token)).body, { userId: 'bob' }, 'verified by the HS256 strategy');
  t.equal((await call(issueToken('bob', 'another-secret-of-16+'))).status, 401);
});

t.test('token lifetime: exp - iat within the bound (24 h unless set), no iat in the future; without iat, exp - now', async (t) => {
  const rsa = signingKey('RS256');
  const { url } = await jwksServer(t, [rsa]);
  const now = Math.floor(Date.now() / 1000);
  const day = 24 * 60 * 60;
  const bounded = await app(t, { jwksUrl: url, issuer, audience });
  const cases: [string, Record<string, unknown>, number][] = [
    ['a day exactly', { iat: now, exp: now + day }, 200],
    ['a day and a second', { iat: now, exp: now + day + 1 }, 401],
    ['exp at 10^308', { iat: now, exp: 1e308 }, 401],
    ['iat an hour ahead', { iat: now + 3600, exp: now + 7200 }, 401],
    ['iat within the clock tolerance', { iat: now + 10, exp: now + 3600 }, 200],
    ['iat not a number', { iat: 'yesterday', exp: now + 3600 }, 401],
    ['no iat, exp in an hour', { iat: undefined, exp: now + 3600 }, 200],
    ['no iat, exp in two days', { iat: undefined, exp: now + 2 * day }, 401],
  ];
  for (const [name, claims, status] of cases) {
    const response = await bounded.call(await sign(rsa, claims));
    t.equal(response.status, status, name);
    if (status === 401) t.match(response.body, { statusCode: 401, message: /Token (lives longer|iat)|"iat" claim/ }, `${name}: says why`);
  }
  // A shorter bound, as JWT_MAX_LIFETIME sets it, for the shared secret too.
  const secret = 'a-shared-secret-of-16+';
  const short = await app(t, { secret, maxLifetimeSeconds: 600 });
  t.equal((await short.call(issueToken('alice', secret, 600))).status, 200);
  t.equal((await short.call(issueToken('alice', secret, 601))).status, 401);
});
