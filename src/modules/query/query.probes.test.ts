import t from 'tap';
import { probeRoutes } from '../../testing/route-probes.ts';
import { closeTestDynamoDb } from '../../testing/stores.ts';

/**
 * The adversarial probes on every query route the service describes (src/testing/route-probes.ts):
 * leaks to a non-member, message ids through another chat, id spellings, hostile user ids, and
 * consistency tokens of streams the caller cannot see. A new route is probed without an edit here.
 */

t.teardown(closeTestDynamoDb);

t.test('every described query route, probed', (t) => probeRoutes(t, '/query/v1/'));
