// `npm test` runs these test files one after another in this one process (README.md, Tests).
// The probes on what a request carries.
import './command-input.test.ts';
import './first-requests.test.ts';
import './fuzz.test.ts';
import './headers.test.ts';
import './hostile-ids.test.ts';
import './logs.test.ts';
import './query-credentials-log.test.ts';
import './raw-dot-segments.test.ts';
import './raw-socket.test.ts';
