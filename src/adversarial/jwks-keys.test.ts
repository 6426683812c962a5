import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT } from 'jose';
import t from 'tap';
import type { Test } from 'tap';
import { authPlugin, callerOf, userAuth } from '../shared/auth.ts';
import { createHttpServer } from '../shared/http-server.ts';

/**
 * The identity provider's JWKS is input too. A key the platform cannot import (an EC point of the
 * wrong length, a truncated modulus) must not turn tokens into 500s (docs/api.md, identity: a bad
 * token is 401, never 500), nor break the keys next to it.
 */

const issuer = 'https://idp.example';
const audience = 'chat-api';

async function jwksServer(t: Test, keys: object[]): Promise<string> {
  const server = createServer((_request, response) => {
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
}

t.test('a key the platform cannot import is a 401 for tokens naming it, never a 500', async (t) => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const rsaJwk = { ...rsa.publicKey.export({ format: 'jwk' }), kid: 'rsa-1', use: 'sig' };
  const ecJwk = { ...ec.publicKey.export({ format: 'jwk' }), kid: 'ec-1', use: 'sig' };
  // The EC key as a broken publication might carry it: an x coordinate of the wrong length.
  const url = await jwksServer(t, [rsaJwk, { ...ecJwk, x: 'AAAA' }]);

  const server = createHttpServer();
  await server.register({ plugin: authPlugin, options: { jwksUrl: url, issuer, audience } });
  server.route({ method: 'GET', path: '/me', options: { auth: userAuth, handler: (request) => ({ userId: callerOf(request) }) } });
  await server.initialize();
  const call = async (token: string) => (await server.inject({ method: 'GET', url: '/me', headers: { authorization: `Bearer ${token}` } })).statusCode;
  const claims = { sub: 'alice', iss: issuer, aud: audience, exp: Math.floor(Date.now() / 1000) + 300 };

  t.equal(await call(await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'rsa-1' }).sign(rsa.privateKey)), 200, 'the good key keeps working');
  const withKid = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'ec-1' }).sign(ec.privateKey);
  const withoutKid = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256' }).sign(ec.privateKey);
  t.equal(await call(withKid), 401, 'a token naming the broken key is refused, not a 500');
  t.equal(await call(withoutKid), 401, 'a token without a kid that only the broken key could fit is refused');
});
