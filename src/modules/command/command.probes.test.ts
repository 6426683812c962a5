import t from 'tap';
import { probeRoutes } from '../../testing/route-probes.ts';
import { closeTestDynamoDb } from '../../testing/stores.ts';

/**
 * The adversarial probes on every command route the service describes (src/testing/route-probes.ts):
 * leaks to a non-member with any If-Match, message ids through another chat, id spellings, hostile
 * user ids, Idempotency-Key reuse. A new route is probed without an edit here.
 */

t.teardown(closeTestDynamoDb);

t.test('every described command route, probed', (t) => probeRoutes(t, '/command/v1/'));
