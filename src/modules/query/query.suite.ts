// `npm test` runs these test files one after another in this one process (README.md, Tests).
import './consistency.test.ts';
import './query.faults.test.ts';
import './query.routes.test.ts';
import './query.probes.test.ts';
