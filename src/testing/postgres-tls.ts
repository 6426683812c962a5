import { readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { Test } from 'tap';

/**
 * A test CA and a server certificate for `localhost`/127.0.0.1 signed by it (valid until 2126;
 * the CA's key was discarded after signing). Used to prove that the database connection verifies
 * TLS against the CAs it is given, as it does against Amazon RDS's in AWS.
 */
const dir = new URL('./tls/', import.meta.url);
export const testCa = readFileSync(new URL('ca.pem', dir), 'utf8');
const serverCert = readFileSync(new URL('server.pem', dir), 'utf8');
const serverKey = readFileSync(new URL('server-key.pem', dir), 'utf8');

/**
 * Postgres over TLS in front of a plain Postgres: answers the client's SSLRequest with 'S',
 * terminates TLS with the test certificate and relays the protocol to `target`. The local
 * Postgres need not have TLS configured.
 */
export async function postgresTlsProxy(t: Test, target: { host: string; port: number }): Promise<{ port: number; connections: () => number }> {
  let connections = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    sockets.add(client);
    client.once('close', () => sockets.delete(client));
    client.once('data', (first) => {
      // SSLRequest: length 8, code 80877103.
      if (first.length !== 8 || first.readInt32BE(4) !== 80877103) return void client.destroy();
      client.write('S');
      const secure = new TLSSocket(client, { isServer: true, cert: serverCert, key: serverKey });
      const upstream = connect(target.port, target.host);
      sockets.add(upstream);
      connections++;
      secure.pipe(upstream).pipe(secure);
      const close = () => {
        secure.destroy();
        upstream.destroy();
      };
      secure.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
    });
    client.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return { port: (server.address() as AddressInfo).port, connections: () => connections };
}
