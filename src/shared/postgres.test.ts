import { X509Certificate } from 'node:crypto';
import type { PostgresPool, PostgresPoolClient } from 'kysely';
import t from 'tap';
import {
  CredentialedPool,
  DatabaseConnectError,
  DatabaseUrlError,
  connectionFromUrl,
  createPgPool,
  defaultConnectTimeoutMs,
  rdsCertificateAuthorities,
  rdsTls,
} from './postgres.ts';
import type { PostgresConnectionSettings } from './postgres.ts';

const awkward = 'a^b@c/d%e#f?g h:i[j]k\\l"m\'n{o}|p`q<r>s=t&u+v,w;x~y!z*$é';

t.test('a percent-encoded password may hold any character', async (t) => {
  const url = `postgres://app%40user:${encodeURIComponent(awkward)}@db.example.com:6543/chat%20db?sslmode=require`;
  const settings = connectionFromUrl(url);
  t.match(settings, { host: 'db.example.com', port: 6543, user: 'app@user', database: 'chat db', ssl: { rejectUnauthorized: false } });
  t.equal(settings.password, awkward, 'decoded exactly');
  t.match(connectionFromUrl('postgresql://postgres@127.0.0.1/test'), { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test', ssl: false });
  t.match(connectionFromUrl('postgres://u@[::1]:5433/x'), { host: '::1', port: 5433 });
  t.notOk('password' in connectionFromUrl('postgres://u@h/x'), 'no password: none sent');
});

t.test('a URL that cannot be read says why in one line, without the password', async (t) => {
  const cases: [string, string, RegExp][] = [
    ['postgres://u:%s@h/db', 'pa^ss', /must be percent-encoded/],
    ['postgres://u:%s@h/db', 'pa ss', /must be percent-encoded|must look like/],
    ['postgres://u:%s@h/db', 'pa#ss', /must look like|must be percent-encoded|malformed/],
    ['postgres://u:%s@h/db', 'p@ss', /must look like|must be percent-encoded/],
    ['postgres://u:%s@h/db', 'pa%zzss', /must be percent-encoded|malformed percent-encoding/],
    ['postgres://u:%s@h/db', '%E0%A4%A', /malformed percent-encoding|must be percent-encoded/],
    ['mysql://u:%s@h/db', 'secret-1', /must look like/],
    ['postgres://u:%s@h:99999/db', 'secret-2', /port/],
    ['postgres://u:%s@h/db?sslmode=sometimes', 'secret-3', /sslmode=sometimes/],
  ];
  for (const [template, password, message] of cases) {
    const url = template.replace('%s', password);
    const error = t.throws(() => connectionFromUrl(url)) as Error;
    t.type(error, DatabaseUrlError, url);
    t.match(error.message, message, url);
    t.notOk(error.message.includes(password), `${url}: the password is not repeated`);
    t.notMatch(error.message, /\n/, 'one line');
  }
});

t.test('TLS for RDS trusts the RDS CAs and checks the host name', async (t) => {
  const subjects = rdsCertificateAuthorities().map((pem) => new X509Certificate(pem).subject);
  for (const region of ['us-east-1', 'eu-west-1', 'ap-northeast-1']) {
    for (const kind of ['RSA2048', 'RSA4096', 'ECC384']) {
      t.ok(subjects.some((s) => s.includes(`Amazon RDS ${region} Root CA ${kind} G1`)), `${region} ${kind}`);
    }
  }
  const tls = rdsTls('cluster.example.eu-west-1.rds.amazonaws.com', ['-----BEGIN CERTIFICATE-----\nextra\n-----END CERTIFICATE-----']);
  t.match(tls, { rejectUnauthorized: true, servername: 'cluster.example.eu-west-1.rds.amazonaws.com' });
  t.equal((tls.ca as string[]).length, subjects.length + 1, 'extra certificates are added, not substituted');
  t.match(connectionFromUrl('postgres://u@h/db?sslmode=verify-full').ssl, { rejectUnauthorized: true, servername: 'h' });
});

t.test('a pg pool gives up opening a connection after connectTimeoutMs (5 s unless set), and on a query after as long unless told otherwise', async (t) => {
  const settings = connectionFromUrl('postgres://u@127.0.0.1:1/x');
  const set = createPgPool({ ...settings, connectTimeoutMs: 20_000 }, 2);
  const unset = createPgPool(settings, 2);
  const bulk = createPgPool({ ...settings, queryTimeoutMs: 600_000 }, 2);
  t.teardown(() => Promise.all([set.end(), unset.end(), bulk.end()]));
  const options = (pool: typeof set) => pool.options as typeof pool.options & { query_timeout?: number };
  t.match(options(set), { connectionTimeoutMillis: 20_000, query_timeout: 20_000 }, 'the setting, for both');
  t.match(options(unset), { connectionTimeoutMillis: defaultConnectTimeoutMs, query_timeout: defaultConnectTimeoutMs });
  t.equal(defaultConnectTimeoutMs, 5_000);
  t.match(options(bulk), { connectionTimeoutMillis: defaultConnectTimeoutMs, query_timeout: 600_000 }, 'bulk work sets its own');
});

/** Pools that accept only the password currently set on the "server". */
function fakeServer() {
  const server = { password: 'first', created: [] as string[], ended: 0 };
  const createPool = (settings: PostgresConnectionSettings): PostgresPool => {
    server.created.push(settings.password ?? '');
    return {
      connect: async () => {
        if (settings.password !== server.password) throw Object.assign(new Error(`password authentication failed for user "${settings.user}"`), { code: '28P01' });
        return { query: async () => ({ rows: [] }), release: () => undefined } as unknown as PostgresPoolClient;
      },
      end: async () => void server.ended++,
    };
  };
  return { server, createPool };
}

t.test('credentials refused: the settings are fetched afresh once and the connection retried (rotation)', async (t) => {
  const { server, createPool } = fakeServer();
  const secret = { password: 'first', reads: 0 };
  const clock = { now: 0 };
  const pool = new CredentialedPool({
    source: async () => {
      secret.reads++;
      return { host: 'h', port: 5432, user: 'app', password: secret.password, database: 'db', ssl: false };
    },
    poolSize: 2,
    createPool,
    now: () => clock.now,
  });
  t.equal(secret.reads, 0, 'nothing is read before the first connection');
  await pool.connect();
  await pool.connect();
  t.equal(secret.reads, 1, 'read once');
  // The password rotates: the server and the secret change together.
  server.password = 'second';
  secret.password = 'second';
  await pool.connect();
  t.equal(secret.reads, 2, 'refetched after the refusal');
  t.same(server.created, ['first', 'second']);
  t.equal(server.ended, 1, 'the stale pool is retired');

  // The server changed but the secret did not (yet): refused, and no second fetch within the cooldown.
  server.password = 'third';
  clock.now += 10_000;
  const refused = await pool.connect().catch((error: unknown) => error);
  t.type(refused, DatabaseConnectError);
  t.match(refused, { code: '08004', message: /refused the credentials/ });
  t.equal(secret.reads, 3);
  await t.rejects(pool.connect(), { code: '08004' }, 'within the cooldown: refused without a fetch');
  t.equal(secret.reads, 3);
  secret.password = 'third';
  clock.now += 10_000;
  await pool.connect();
  t.equal(secret.reads, 4, 'the next refusal after the cooldown fetches again');
  await pool.end();
  await t.rejects(pool.connect(), DatabaseConnectError, 'a closed pool');
});

t.test('settings that cannot be read are a connection failure (503), tried again on the next request', async (t) => {
  const { createPool } = fakeServer();
  let fail = true;
  const pool = new CredentialedPool({
    source: async () => {
      if (fail) throw new Error('AccessDeniedException');
      return { host: 'h', port: 5432, user: 'app', password: 'first', database: 'db', ssl: false };
    },
    poolSize: 1,
    createPool,
  });
  await t.rejects(pool.connect(), { name: 'DatabaseConnectError', code: '08001', message: /settings could not be read: AccessDeniedException/ });
  fail = false;
  t.ok(await pool.connect());
});
