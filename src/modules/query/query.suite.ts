// `npm test` runs these test files one after another in this one process (README.md, Tests).
import './database.test.ts';
import './migrations.test.ts';
import './projector.test.ts';
import './query.faults.test.ts';
import './query.routes.test.ts';
import './group-chats/group-chats.projection.test.ts';
import './messages/messages.projection.test.ts';
import './projection/consistency.test.ts';
import './projection/projection-feed.test.ts';
import './projection/projector.test.ts';
import './projection/rebuild.test.ts';
import './projection/stream-events.test.ts';
import './projection/table-columns.test.ts';
