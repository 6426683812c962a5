import t from 'tap';
import { DatabaseConnectError } from '../shared/postgres.ts';
import { capturedLogger } from '../testing/log-capture.ts';
import { StartupError, waitForDatabase } from './database-wait.ts';

const url = 'postgres://app:s3cret-pw@db.example:5433/chat';

/** How the projection module reports a failed connection: wrapped, the pg error as the cause. */
const connectFailure = (message: string, cause?: object) =>
  new Error('the projection database is unavailable', {
    cause: new DatabaseConnectError(`cannot connect to the database: ${message}`, '08001', { cause: Object.assign(new Error(message), cause) }),
  });

/** A `prepare` that fails with `errors` in turn, then succeeds; counts its calls. */
function preparing(...errors: Error[]) {
  const calls = { count: 0 };
  const prepare = async () => {
    const error = errors[calls.count++];
    if (error) throw error;
  };
  return { prepare, calls };
}

t.test('a database that is down at start is waited for, with a line each time naming DATABASE_URL, never its password', async (t) => {
  const { logger, entries } = capturedLogger();
  const { prepare, calls } = preparing(connectFailure('connect ECONNREFUSED 10.0.0.5:5433'), connectFailure('timeout expired'));
  await waitForDatabase(prepare, { url, logger, waitMs: 60_000, everyMs: 1 });
  t.equal(calls.count, 3, 'tried until it answered');
  const waits = entries().filter((entry) => entry.level === 40);
  t.equal(waits.length, 2, 'one line per wait');
  t.match(waits[0], { msg: /^waiting for the Postgres of DATABASE_URL \(app@db\.example:5433\/chat\): connect ECONNREFUSED 10\.0\.0\.5:5433; \d+ s left$/ });
  t.notOk(JSON.stringify(entries()).includes('s3cret-pw'), 'the password is never logged');
});

t.test('what waiting cannot fix ends the start at once, saying what to do', async (t) => {
  const { logger } = capturedLogger();
  const missing = preparing(connectFailure('database "chat" does not exist', { code: '3D000' }));
  await t.rejects(waitForDatabase(missing.prepare, { url, logger, waitMs: 60_000, everyMs: 1 }), {
    name: 'StartupError',
    message: 'DATABASE_URL names a database that does not exist (app@db.example:5433/chat): create it (createdb -h db.example -p 5433 -U app chat) or correct DATABASE_URL',
  });
  t.equal(missing.calls.count, 1);
  const refused = preparing(new Error('unavailable', { cause: new DatabaseConnectError('the database refused the credentials', '08004') }));
  await t.rejects(waitForDatabase(refused.prepare, { url, logger, waitMs: 60_000, everyMs: 1 }), { message: /^the Postgres of DATABASE_URL \(app@db\.example:5433\/chat\) refused the credentials/ });
  t.equal(refused.calls.count, 1);
  const other = new Error('migration 0003 failed: syntax error');
  await t.rejects(waitForDatabase(preparing(other).prepare, { url, logger, waitMs: 60_000 }), other, 'anything but a connection failure is not waited on');
});

t.test('an outage past the bound ends the start with one line naming DATABASE_URL and what to do', async (t) => {
  const { logger } = capturedLogger();
  const down = async () => {
    throw connectFailure('connect ECONNREFUSED 10.0.0.5:5433');
  };
  const failed = await waitForDatabase(down, { url, logger, waitMs: 0 }).catch((error: unknown) => error);
  t.ok(failed instanceof StartupError);
  t.equal(
    (failed as Error).message,
    'cannot reach the Postgres of DATABASE_URL (app@db.example:5433/chat) after 0 s: connect ECONNREFUSED 10.0.0.5:5433. Start it, correct DATABASE_URL, or unset DATABASE_URL to use the embedded database',
  );
});
