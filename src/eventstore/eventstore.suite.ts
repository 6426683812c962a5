// `npm test` runs these test files one after another in this one process (README.md, Tests).
import './dynamodb-event-store.test.ts';
import './lazy-event-store.test.ts';
import './local-dynalite.test.ts';
import './stream-records.test.ts';
