import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Reads `read` until `done` holds and returns that value: for what the server finishes in the
 * background (a projection catching up, a key set refetched, spans exported). A test waits for
 * the state it needs, never for a fixed time. The bound is a guard against a state that never
 * comes (the test then fails with `what`), sized far above anything a busy machine needs.
 *
 * @example
 * const chat = await eventually('the rename is projected', () => api.send('alice', 'GET', url), (r) => r.body.name === 'New');
 */
export async function eventually<T>(what: string, read: () => T | Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`still waiting, after a minute, for ${what}`);
    await sleep(20);
  }
}

/**
 * Yields to the event loop, one turn at a time, until `done` holds: for state the code under test
 * reaches in this process without waiting on anything else, where a test must see it the moment
 * it holds (a waiter with a short deadline is counted before the deadline takes it away). The
 * same minute-long guard as `eventually`.
 */
export async function untilHolds(what: string, done: () => boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`still waiting, after a minute, for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}
