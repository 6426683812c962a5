import { sql } from 'kysely';
import t from 'tap';
import type { Test } from 'tap';
import { migrate, openDatabase } from '../modules/projection/index.ts';
import { readConfig } from '../shared/config.ts';
import { postgresTlsProxy, testCa } from '../testing/postgres-tls.ts';
import { fakeSecretsManager } from '../testing/secrets-manager.ts';
import { databaseSchema, databaseSource, settingsFromSecret } from './database-settings.ts';
import type { DatabaseConfig } from './database-settings.ts';

const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:projections-AbCdEf';
const awkward = 'p^a@s/s%w#o?r d:"\'{}';

/** readConfig with the exit turned into an exception, so a test can read the one line. */
function read(env: Record<string, string>): DatabaseConfig {
  return readConfig<DatabaseConfig>(databaseSchema, env, (message) => {
    throw new Error(message);
  });
}

t.test('exactly one of DATABASE_URL and DATABASE_SECRET_ARN', async (t) => {
  t.throws(() => read({}), /^configuration error: set DATABASE_SECRET_ARN \(or DATABASE_URL outside AWS\)$/);
  t.throws(() => read({ DATABASE_URL: 'postgres://u@h/db', DATABASE_SECRET_ARN: arn }), /not both/);
  t.match(read({ DATABASE_SECRET_ARN: arn }), { DATABASE_SECRET_ARN: arn, DATABASE_SCHEMA: 'projections', DATABASE_POOL_SIZE: 2 });
  t.throws(() => read({ DATABASE_SECRET_ARN: 'projections' }), /"DATABASE_SECRET_ARN" .*Secrets Manager secret ARN/);
});

t.test('DATABASE_URL takes any password percent-encoded, and says in one line what is wrong otherwise', async (t) => {
  t.match(read({ DATABASE_URL: `postgres://app:${encodeURIComponent(awkward)}@db:5432/x` }), { DATABASE_URL: /^postgres:/ });
  const error = t.throws(() => read({ DATABASE_URL: 'postgres://app:hunter^2@db/x' })) as Error;
  t.equal(error.message, 'configuration error: "DATABASE_URL" has characters in its user or password that must be percent-encoded (encodeURIComponent)');
  t.notMatch(error.message, /hunter/);
});

t.test('DATABASE_CA_CERTS must be PEM certificates', async (t) => {
  t.match(read({ DATABASE_SECRET_ARN: arn, DATABASE_CA_CERTS: testCa }), { DATABASE_CA_CERTS: testCa });
  t.throws(() => read({ DATABASE_SECRET_ARN: arn, DATABASE_CA_CERTS: 'not a certificate' }), /"DATABASE_CA_CERTS" must hold PEM certificates/);
  t.throws(() => read({ DATABASE_SECRET_ARN: arn, DATABASE_CA_CERTS: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----' }), /PEM certificates/);
});

t.test('an RDS secret becomes connection fields with verified TLS', async (t) => {
  const secret = JSON.stringify({ engine: 'postgres', host: 'c.cluster-x.eu-west-1.rds.amazonaws.com', port: 5432, username: 'app', password: awkward, dbname: 'chat', dbClusterIdentifier: 'c' });
  const settings = settingsFromSecret(secret);
  t.match(settings, { host: 'c.cluster-x.eu-west-1.rds.amazonaws.com', port: 5432, user: 'app', database: 'chat', ssl: { rejectUnauthorized: true, servername: 'c.cluster-x.eu-west-1.rds.amazonaws.com' } });
  t.equal(settings.password, awkward, 'the password as it is, never through a URL');
  t.match(settingsFromSecret(JSON.stringify({ host: 'h', username: 'u', password: 'p', port: '6543' })), { port: 6543, database: 'postgres' }, 'defaults and numeric strings');
  for (const [bad, message] of [
    ['{', /not JSON/],
    [JSON.stringify({ host: 'h', username: 'u' }), /"password" is required/],
    [JSON.stringify({ host: 'h', username: 'u', password: awkward, port: 'many' }), /"port" must be a number/],
  ] as const) {
    const error = t.throws(() => settingsFromSecret(bad)) as Error;
    t.match(error.message, message);
    t.notOk(error.message.includes(awkward), 'no part of the secret in the message');
  }
});

/** Points the SDK at a stand-in Secrets Manager for the rest of the test. */
function useSecretsManager(t: Test, endpoint: string) {
  const keys = { AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'eu-west-1' };
  const saved = Object.fromEntries(Object.keys(keys).map((key) => [key, process.env[key]]));
  Object.assign(process.env, keys);
  t.teardown(() => {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });
}

t.test('DATABASE_CONNECT_TIMEOUT_MS: 3 s unless set, carried by the settings of either source', async (t) => {
  t.match(read({ DATABASE_SECRET_ARN: arn }), { DATABASE_CONNECT_TIMEOUT_MS: 5_000 });
  t.match(read({ DATABASE_SECRET_ARN: arn, DATABASE_CONNECT_TIMEOUT_MS: '20000' }), { DATABASE_CONNECT_TIMEOUT_MS: 20_000 });
  for (const bad of ['soon', '50', '2.5', '-1']) {
    t.throws(() => read({ DATABASE_SECRET_ARN: arn, DATABASE_CONNECT_TIMEOUT_MS: bad }), /"DATABASE_CONNECT_TIMEOUT_MS"/, bad);
  }
  const fromUrl = await databaseSource(read({ DATABASE_URL: 'postgres://app@db.example:5432/chat', DATABASE_CONNECT_TIMEOUT_MS: '45000' })).postgres({ refresh: false });
  t.match(fromUrl, { host: 'db.example', user: 'app', database: 'chat', connectTimeoutMs: 45_000 });
  t.match(await databaseSource(read({ DATABASE_URL: 'postgres://app@db.example/chat' })).postgres({ refresh: false }), { connectTimeoutMs: 5_000 });

  const secret = JSON.stringify({ host: 'c.cluster-x.eu-west-1.rds.amazonaws.com', username: 'app', password: awkward });
  const secrets = await fakeSecretsManager(t, new Map([[arn, secret]]));
  useSecretsManager(t, secrets.endpoint);
  const fromSecret = await databaseSource(read({ DATABASE_SECRET_ARN: arn, DATABASE_CONNECT_TIMEOUT_MS: '20000' })).postgres({ refresh: false });
  t.match(fromSecret, { host: 'c.cluster-x.eu-west-1.rds.amazonaws.com', password: awkward, connectTimeoutMs: 20_000 });
});

const noPostgres = process.env.DATABASE_URL ? false : 'real Postgres: DATABASE_URL is not set';

t.test('the secret is read on first use from Secrets Manager and works over verified TLS', { skip: noPostgres }, async (t) => {
  const target = new URL(process.env.DATABASE_URL!);
  const proxy = await postgresTlsProxy(t, { host: target.hostname, port: Number(target.port || 5432) });
  const secret = { host: 'localhost', port: proxy.port, username: target.username || 'postgres', password: awkward, dbname: target.pathname.slice(1) };
  const secrets = await fakeSecretsManager(t, new Map([[arn, JSON.stringify(secret)]]));
  useSecretsManager(t, secrets.endpoint);
  const schema = `secret_${Date.now().toString(36)}`;
  const config = read({ DATABASE_SECRET_ARN: arn, DATABASE_SCHEMA: schema, DATABASE_CA_CERTS: testCa });
  const database = await openDatabase({ ...databaseSource(config), schema: config.DATABASE_SCHEMA });
  t.teardown(async () => {
    await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(database.db).catch(() => undefined);
    await database.close();
  });
  t.equal(secrets.state.reads, 0, 'opening reads nothing');
  await migrate(database.db, database.schema);
  t.same((await sql<{ one: number }>`select 1 as one`.execute(database.db)).rows, [{ one: 1 }]);
  t.equal(secrets.state.reads, 1, 'read once');
  t.ok(proxy.connections() >= 1, 'through TLS');

  // The same secret without the CA that signed the server's certificate: nothing connects.
  const strict = await openDatabase({ ...databaseSource(read({ DATABASE_SECRET_ARN: arn, DATABASE_SCHEMA: schema })), schema });
  t.teardown(() => strict.close());
  await t.rejects(sql`select 1`.execute(strict.db), { name: 'ProjectionUnavailableError', cause: { code: '08001', message: /cannot connect to the database: .*certificate/ } });

  // Secrets Manager failing: a connection failure (503 for a request), tried again next time.
  secrets.state.failing = true;
  const unreadable = await openDatabase({ ...databaseSource(config), schema });
  t.teardown(() => unreadable.close());
  await t.rejects(sql`select 1`.execute(unreadable.db), { name: 'ProjectionUnavailableError', cause: { code: '08001', message: /settings could not be read/ } });
  secrets.state.failing = false;
  t.same((await sql<{ one: number }>`select 1 as one`.execute(unreadable.db)).rows, [{ one: 1 }], 'and recovers');
});
