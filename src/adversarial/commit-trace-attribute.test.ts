import t from 'tap';
import { fromItem, toItem } from '../eventstore/index.ts';
import type { Commit, CommitItem } from '../eventstore/index.ts';
import { decodeStreamRecord } from '../eventstore/stream-records.ts';
import { insertRecord } from '../testing/stream-events.ts';

/**
 * commit-item.ts: the trace context on a commit item is an optional hint, "never a
 * reason to refuse a commit: one that is not a well-formed traceparent is left out". Had the
 * whole item gone through `unmarshall`, a `traceparent` attribute of a type the SDK cannot turn
 * into a JavaScript value (a number beyond 2^53 in exponent form, a number set of such, an
 * attribute type it does not know) would throw and refuse the commit itself: reported in
 * batchItemFailures by the projector function (that stream's projection stuck there), and the
 * same error on the command side's readStream for every later command on the chat. Only the
 * commit's own attributes are decoded (commit-item.ts).
 *
 * By hand: POST /events with an INSERT record of a real commit whose NewImage carries
 * `"traceparent": {"N": "1.5e20"}` → 200 {"batchItemFailures":[]}.
 */

const commit: Commit = {
  streamId: 'GroupChat-01890000-0000-7000-8000-000000000001',
  version: 1,
  commandId: 'c-1',
  actorId: 'alice',
  occurredAt: '2026-11-29T00:00:00.000Z',
  events: [{ type: 'GroupChatCreated', data: { name: 'Traced', ownerId: 'alice' } }],
};

const hostile: Record<string, unknown> = {
  'a number in exponent form beyond 2^53': { N: '1.5e20' },
  'a number set': { NS: ['1.5e20'] },
  'an attribute type the SDK does not know': { X: 'y' },
};

for (const [name, attribute] of Object.entries(hostile)) {
  t.test(`a commit whose traceparent is ${name} is still the commit`, async (t) => {
    const item = { ...toItem(commit), traceparent: attribute } as CommitItem;
    const decoded = (() => {
      try {
        return fromItem(item);
      } catch (error) {
        return error as Error;
      }
    })();
    t.notOk(decoded instanceof Error, `fromItem decodes it (${decoded instanceof Error ? decoded.message : 'ok'})`);
    t.match(decoded, { streamId: commit.streamId, version: 1, events: commit.events });
    t.notOk('traceparent' in (decoded as object), 'the unusable hint is left out');

    const record = insertRecord(commit);
    (record.dynamodb!.NewImage as Record<string, unknown>).traceparent = attribute;
    t.match(
      (() => {
        try {
          return decodeStreamRecord(record);
        } catch (error) {
          return error as Error;
        }
      })(),
      { kind: 'commit', commit: { streamId: commit.streamId, version: 1 } },
      'the stream record is a commit to apply, not a failed record',
    );
  });
}

t.test('old commits without a trace context, and well-formed ones, decode as before', async (t) => {
  t.notOk('traceparent' in fromItem(toItem(commit)));
  const traced = { ...commit, traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' };
  t.equal(fromItem(toItem(traced)).traceparent, traced.traceparent);
});
