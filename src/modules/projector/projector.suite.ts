// `npm test` runs these test files one after another in this one process (README.md, Tests).
import './projector.test.ts';
import './stream-events.test.ts';
