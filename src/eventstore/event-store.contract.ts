import { randomUUID } from 'node:crypto';
import type { Test } from 'tap';
import { VersionConflictError } from './event-store.ts';
import type { AppendRequest, Commit, EventStore } from './event-store.ts';

/**
 * The behaviour every EventStore implementation owes its callers. An implementation's test file
 * calls this with a factory for a fresh, empty store.
 */
export function eventStoreContract(t: Test, makeStore: () => Promise<EventStore>): void {
  let store: EventStore;
  t.before(async () => {
    store = await makeStore();
  });

  const request = (streamId: string, expectedVersion: number, data: Record<string, unknown> = {}): AppendRequest => ({
    streamId,
    expectedVersion,
    commandId: randomUUID(),
    actorId: 'alice',
    occurredAt: new Date('2026-01-02T03:04:05.678Z').toISOString(),
    events: [{ type: 'Something', data }],
  });

  t.test('a new stream reads as empty', async (t) => {
    t.same(await store.readStream(`S-${randomUUID()}`), []);
  });

  t.test('append then read gives the commit back, with every field intact', async (t) => {
    const streamId = `S-${randomUUID()}`;
    const data = { text: 'héllo 👋 \u00e9', nested: { list: [1, 'two', { three: true }], empty: '' } };
    const appended = await store.append({
      ...request(streamId, 0),
      commandHash: 'abc',
      events: [
        { type: 'First', data },
        { type: 'Second', data: {} },
      ],
    });
    t.equal(appended.version, 1);
    const [read, ...rest] = await store.readStream(streamId);
    t.same(rest, []);
    t.same(read, appended);
    t.same(read?.events[0]?.data, data);
    // docs/events.md, the envelope: every event of a commit carries the commit's stream, version,
    // actor and command.
    t.match(read, { streamId, version: 1, actorId: 'alice', commandId: appended.commandId });
    t.same(
      read?.events.map((e) => e.type),
      ['First', 'Second'],
    );
  });

  t.test('versions count commits and reads start where asked', async (t) => {
    const streamId = `S-${randomUUID()}`;
    for (let version = 0; version < 5; version++) await store.append(request(streamId, version, { n: version }));
    const all = await store.readStream(streamId);
    t.same(all.map((c) => c.version), [1, 2, 3, 4, 5]);
    const tail = await store.readStream(streamId, { fromVersion: 4 });
    t.same(tail.map((c) => c.events[0]?.data), [{ n: 3 }, { n: 4 }]);
    t.same(await store.readStream(streamId, { fromVersion: 6 }), []);
  });

  t.test('a stale expected version is a typed conflict and writes nothing', async (t) => {
    const streamId = `S-${randomUUID()}`;
    await store.append(request(streamId, 0));
    await store.append(request(streamId, 1));
    const error = await store.append(request(streamId, 1)).catch((e: unknown) => e);
    t.type(error, VersionConflictError);
    t.match(error, { streamId, expectedVersion: 1 });
    t.equal((await store.readStream(streamId)).length, 2);
  });

  t.test('a stream that exists cannot be created again', async (t) => {
    const streamId = `S-${randomUUID()}`;
    await store.append(request(streamId, 0));
    await t.rejects(store.append(request(streamId, 0)), VersionConflictError);
  });

  t.test('of N concurrent appends at one expected version exactly one wins', async (t) => {
    const streamId = `S-${randomUUID()}`;
    await store.append(request(streamId, 0));
    const attempts = Array.from({ length: 25 }, (_, n) => request(streamId, 1, { n }));
    const outcomes = await Promise.allSettled(attempts.map((attempt) => store.append(attempt)));
    const won = outcomes.filter((o): o is PromiseFulfilledResult<Commit> => o.status === 'fulfilled');
    const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    t.equal(won.length, 1);
    t.equal(lost.length, 24);
    t.ok(lost.every((o) => o.reason instanceof VersionConflictError), 'every loser gets a VersionConflictError');
    const stored = await store.readStream(streamId);
    t.same(stored.map((c) => c.version), [1, 2]);
    t.equal(stored[1]?.commandId, won[0]?.value.commandId);
  });

  t.test('a stream larger than one read page comes back whole and in order', async (t) => {
    const streamId = `S-${randomUUID()}`;
    const filler = 'x'.repeat(30_000);
    const count = 45; // 45 × 30 KB ≈ 1.35 MB: more than one 1 MB DynamoDB page
    for (let version = 0; version < count; version++) {
      await store.append(request(streamId, version, { n: version, filler }));
    }
    const commits = await store.readStream(streamId);
    t.equal(commits.length, count);
    t.ok(
      commits.every((commit, index) => commit.version === index + 1 && commit.events[0]?.data.n === index),
      'versions and payloads are in order',
    );
  });

  t.test('scan yields every commit of every stream exactly once', async (t) => {
    const fresh = await makeStore();
    const streams = Array.from({ length: 7 }, () => `S-${randomUUID()}`);
    const expected = new Set<string>();
    for (const [index, streamId] of streams.entries()) {
      for (let version = 0; version <= index; version++) {
        await fresh.append(request(streamId, version));
        expected.add(`${streamId}@${version + 1}`);
      }
    }
    const seen: string[] = [];
    for await (const page of fresh.scan({ segments: 3 })) {
      for (const commit of page) seen.push(`${commit.streamId}@${commit.version}`);
    }
    t.equal(seen.length, expected.size, 'no commit twice');
    t.same(new Set(seen), expected);
  });

  t.test('malformed appends are refused before reaching the log', async (t) => {
    const streamId = `S-${randomUUID()}`;
    await t.rejects(store.append({ ...request(streamId, 0), events: [] }), RangeError);
    await t.rejects(store.append(request(streamId, -1)), RangeError);
    await t.rejects(store.append(request(streamId, 1.5)), RangeError);
    t.same(await store.readStream(streamId), []);
  });

  t.test('Idempotency-Key claims', async (t) => {
    const claim = async (key: string, fingerprint: string) => (await store.claimKey({ key, fingerprint, occurredAt: new Date().toISOString() })).ours;

    t.test('a claim with a refusal binds the key to it: the same request finds it, another does not', async (t) => {
      const key = randomUUID();
      const refusal = { status: 403, message: 'only admins may rename the chat' };
      t.same(await store.claimKey({ key, fingerprint: 'request-A', occurredAt: new Date().toISOString(), refusal }), { ours: true, refusal });
      t.same(await store.claimKey({ key, fingerprint: 'request-A', occurredAt: new Date().toISOString() }), { ours: true, refusal }, 'a retry finds the refusal it was answered with');
      t.same(await store.claimKey({ key, fingerprint: 'request-A', occurredAt: new Date().toISOString(), refusal: { status: 409, message: 'other' } }), { ours: true, refusal }, 'the first refusal stays');
      t.same(await store.claimKey({ key, fingerprint: 'request-B', occurredAt: new Date().toISOString() }), { ours: false }, 'another request');
      t.same(await store.claimKey({ key: randomUUID(), fingerprint: 'request-A', occurredAt: new Date().toISOString() }), { ours: true }, 'a plain claim carries no refusal');
    });

    t.test('the first claim of a key wins; the same request may claim it again, no other may', async (t) => {
      const key = randomUUID();
      t.equal(await claim(key, 'request-A'), true);
      t.equal(await claim(key, 'request-A'), true, 'a retry of the same request');
      t.equal(await claim(key, 'request-B'), false, 'another request');
      t.equal(await claim(randomUUID(), 'request-B'), true, 'keys are independent');
    });

    t.test('of concurrent claims with different requests exactly one request owns the key', async (t) => {
      const key = randomUUID();
      const outcomes = await Promise.all(Array.from({ length: 12 }, (_, n) => claim(key, `request-${n % 3}`)));
      const winners = new Set(outcomes.flatMap((won, n) => (won ? [`request-${n % 3}`] : [])));
      t.equal(winners.size, 1, 'every successful claim names the same request');
      t.equal(outcomes.filter(Boolean).length, 4, 'and every attempt of that request succeeds');
    });

    t.test('claims are not commits: scans and stream reads never see them', async (t) => {
      const fresh = await makeStore();
      const streamId = `S-${randomUUID()}`;
      await fresh.append(request(streamId, 0));
      const key = randomUUID();
      await fresh.claimKey({ key, fingerprint: 'f', occurredAt: new Date().toISOString() });
      const seen: string[] = [];
      for await (const page of fresh.scan({ segments: 2 })) for (const commit of page) seen.push(commit.streamId);
      t.same(seen, [streamId]);
      t.same(await fresh.readStream(`Idempotency-${key}`), []);
    });
  });

  t.test('ping answers when the log is reachable', async (t) => {
    await t.resolves(store.ping());
  });
}
