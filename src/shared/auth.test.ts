import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Jwt from '@hapi/jwt';
import t from 'tap';
import { authPlugin, callerOf, issueToken, userAuth } from './auth.ts';
import { createHttpServer } from './http-server.ts';

/** The AWS configuration: tokens verified against an identity provider's JWKS, issuer and audience. */
t.test('JWKS verification with issuer and audience', async (t) => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'key-1', alg: 'RS256', use: 'sig' };
  const jwks = createServer((_request, response) => {
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    jwks.closeAllConnections();
    return new Promise((resolve) => jwks.close(resolve));
  });
  const jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`;

  const server = createHttpServer();
  await server.register({ plugin: authPlugin, options: { jwksUrl, issuer: 'https://idp.example', audience: 'chat-api' } });
  server.route({ method: 'GET', path: '/me', options: { auth: userAuth, handler: (request) => ({ userId: callerOf(request) }) } });
  await server.initialize();
  t.teardown(() => server.stop());

  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const exp = Math.floor(Date.now() / 1000) + 300;
  const sign = (payload: object) => Jwt.token.generate(payload, { key: pem, algorithm: 'RS256' }, { header: { kid: 'key-1' } });
  const call = async (token: string) => {
    const response = await server.inject({ url: '/me', headers: { authorization: `Bearer ${token}` } });
    return { status: response.statusCode, body: JSON.parse(response.payload) as Record<string, unknown> };
  };

  t.same(await call(sign({ sub: 'alice', iss: 'https://idp.example', aud: 'chat-api', exp })), {
    status: 200,
    body: { userId: 'alice' },
  });
  t.equal((await call(sign({ sub: 'alice', iss: 'https://evil.example', aud: 'chat-api', exp }))).status, 401, 'wrong issuer');
  t.equal((await call(sign({ sub: 'alice', iss: 'https://idp.example', aud: 'other-api', exp }))).status, 401, 'wrong audience');
  t.equal((await call(issueToken('alice', 'a-shared-secret-of-16+'))).status, 401, 'an HS256 token is not accepted');
});

t.test('options are checked at registration', async (t) => {
  const server = createHttpServer();
  await t.rejects(server.register({ plugin: authPlugin, options: {} }), /auth plugin options/);
  await t.rejects(
    createHttpServer().register({ plugin: authPlugin, options: { secret: 'short' } }),
    /"secret" length must be at least 16/,
  );
});

t.test('tokens for local use', async (t) => {
  t.throws(() => issueToken('not valid!', 'a-shared-secret-of-16+'), /user id/);
  const decoded = Jwt.token.decode(issueToken('bob', 'a-shared-secret-of-16+'));
  t.match(decoded.decoded.payload, { sub: 'bob', exp: Number });
  t.match(decoded.decoded.header, { alg: 'HS256' });
});
