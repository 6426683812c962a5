// `npm test` runs these test files one after another in this one process (README.md, Tests).
import './database-settings.test.ts';
import './database-wait.test.ts';
import './launch.test.ts';
