// `npm test` runs these test files one after another in this one process (README.md, Tests).
import './database.test.ts';
import './migrations.test.ts';
import './group-chats/group-chats.projection.test.ts';
import './messages/messages.projection.test.ts';
import './projection-feed.test.ts';
import './projector.test.ts';
import './rebuild.test.ts';
import './table-columns.test.ts';
