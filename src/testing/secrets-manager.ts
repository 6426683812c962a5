import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Test } from 'tap';

/**
 * A stand-in for the Secrets Manager API on loopback, for `GetSecretValue` only (JSON 1.1, as
 * the SDK speaks it). Point the SDK at it with AWS_ENDPOINT_URL_SECRETS_MANAGER. Counts reads.
 */
export async function fakeSecretsManager(t: Test, secrets: Map<string, string>) {
  const state = { reads: 0, failing: false };
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      response.setHeader('content-type', 'application/x-amz-json-1.1');
      const target = request.headers['x-amz-target'];
      const { SecretId } = JSON.parse(body || '{}') as { SecretId?: string };
      const secret = SecretId === undefined ? undefined : secrets.get(SecretId);
      if (target !== 'secretsmanager.GetSecretValue' || state.failing || secret === undefined) {
        response.statusCode = 400;
        return void response.end(JSON.stringify({ __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." }));
      }
      state.reads++;
      response.end(JSON.stringify({ ARN: SecretId, Name: 'db', SecretString: secret, VersionId: `v${state.reads}`, VersionStages: ['AWSCURRENT'], CreatedDate: 1_795_000_000 }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  });
  return { state, endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}
