import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { DatabaseConnectError, connectionFromUrl } from '../shared/postgres.ts';

/**
 * A start-up problem the operator fixes in the settings or the environment: its message is the
 * one line `npm start` prints before it exits 1 (no stack).
 */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}

/** SQLSTATEs that waiting does not fix: a missing database, refused credentials. */
const lasting = new Set(['3D000', '28P01', '28000']);

/** The connection failure behind `error` (the projection module wraps it), if that is what it is. */
function connectFailure(error: unknown): DatabaseConnectError | undefined {
  for (let cause = error; cause instanceof Error; cause = cause.cause) if (cause instanceof DatabaseConnectError) return cause;
  return undefined;
}

function sqlState(error: unknown): string | undefined {
  for (let cause = error; cause instanceof Error; cause = cause.cause) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && !code.startsWith('08')) return code;
  }
  return undefined;
}

/**
 * Runs `prepare` (the migrations, the first thing that needs the database) until the Postgres of
 * DATABASE_URL answers: a database that is down or starting is waited for, with a line every
 * `everyMs` saying what is waited for and how long is left, for at most `waitMs`. A supervisor
 * that starts `npm start` during an outage therefore sees it wait, not crash-loop. What waiting
 * cannot fix (no such database, refused credentials) and an outage past the bound end it with a
 * StartupError that names DATABASE_URL and what to do. The password never appears.
 */
export async function waitForDatabase(
  prepare: () => Promise<void>,
  options: { readonly url: string; readonly logger: Logger; readonly waitMs: number; readonly everyMs?: number },
): Promise<void> {
  const { host, port, database, user } = connectionFromUrl(options.url);
  const target = `${user}@${host}:${port}/${database}`;
  const everyMs = options.everyMs ?? 2_000;
  const started = Date.now();
  const deadline = started + options.waitMs;
  for (;;) {
    try {
      await prepare();
      return;
    } catch (thrown) {
      const error = connectFailure(thrown);
      if (!error) throw thrown;
      const reason = error.message.replace(/^cannot connect to the database: /, '');
      const state = sqlState(error);
      if (state === '3D000') {
        throw new StartupError(`DATABASE_URL names a database that does not exist (${target}): create it (createdb -h ${host} -p ${port} -U ${user} ${database}) or correct DATABASE_URL`);
      }
      if (error.code === '08004' || (state !== undefined && lasting.has(state))) {
        throw new StartupError(`the Postgres of DATABASE_URL (${target}) refused the credentials: correct the user or password in DATABASE_URL`);
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new StartupError(
          `cannot reach the Postgres of DATABASE_URL (${target}) after ${Math.round((Date.now() - started) / 1000)} s: ${reason}. ` +
            'Start it, correct DATABASE_URL, or unset DATABASE_URL to use the embedded database',
        );
      }
      options.logger.warn(
        { database: target, reason, secondsLeft: Math.ceil(left / 1000) },
        `waiting for the Postgres of DATABASE_URL (${target}): ${reason}; ${Math.ceil(left / 1000)} s left`,
      );
      await sleep(Math.min(everyMs, left));
    }
  }
}
